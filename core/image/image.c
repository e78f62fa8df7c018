/* image.c — PNG/JPEG in (gdk-pixbuf), RGBA buffers in, and PIL's convert ("RGB").
 *
 * Reference: Pillow 9.4 PIL/Image.py (Image.convert, DecompressionBombError), PngImagePlugin.py
 * (_MODES), libImaging/Convert.c (rgba2rgb, l2rgb, la2rgb, p2rgb). */
#include "core/image/image.h"

#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "core/base/error.h"

GillImage *
gill_image_new (gint width,
                gint height,
                gint channels)
{
  g_return_val_if_fail (width >= 0 && height >= 0, NULL);
  g_return_val_if_fail (channels >= 1 && channels <= 4, NULL);
  GillImage *image = g_new0 (GillImage, 1);
  image->width = width;
  image->height = height;
  image->channels = channels;
  image->pixels = g_malloc0 (MAX ((gsize) width * (gsize) height * (gsize) channels, 1));
  return image;
}

GillImage *
gill_image_copy (const GillImage *image)
{
  GillImage *copy = gill_image_new (image->width, image->height, image->channels);
  memcpy (copy->pixels, image->pixels, gill_image_rowstride (image) * (gsize) image->height);
  return copy;
}

void
gill_image_free (GillImage *image)
{
  if (image == NULL)
    return;
  g_free (image->pixels);
  g_free (image);
}

gsize
gill_image_rowstride (const GillImage *image)
{
  return (gsize) image->width * (gsize) image->channels;
}

gboolean
gill_image_check_size (gint64       width,
                       gint64       height,
                       const gchar *name,
                       GError     **error)
{
  if (width <= 0 || height <= 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: the image is %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " pixels; an image needs at least one pixel",
                   name, width, height);
      return FALSE;
    }
  if (width > GILL_IMAGE_MAX_PIXELS || height > GILL_IMAGE_MAX_PIXELS || width * height > GILL_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: the image is %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " pixels, more than the limit of %"
                   G_GINT64_FORMAT " pixels (Pillow's decompression-bomb limit); scale it down first",
                   name, width, height, GILL_IMAGE_MAX_PIXELS);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ file formats */

typedef enum
{
  IMAGE_FORMAT_OTHER,
  IMAGE_FORMAT_PNG,
  IMAGE_FORMAT_JPEG,
} ImageFormat;

static ImageFormat
image_sniff (const guint8 *data,
             gsize         len)
{
  static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  if (len >= 8 && memcmp (data, png_magic, 8) == 0)
    return IMAGE_FORMAT_PNG;
  if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return IMAGE_FORMAT_JPEG;
  return IMAGE_FORMAT_OTHER;
}

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* a PNG's size from its IHDR chunk (always the first chunk: 8-byte magic, length, "IHDR") */
static gboolean
png_header_size (const guint8 *data,
                 gsize         len,
                 gint64       *width,
                 gint64       *height)
{
  if (len < 24 || memcmp (data + 12, "IHDR", 4) != 0)
    return FALSE;
  *width = read_be32 (data + 16);
  *height = read_be32 (data + 20);
  return TRUE;
}

/* whether a JPEG stream reaches its EOI marker. Walks the marker segments from SOI, jumping over
 * each segment by its length (so thumbnails inside APP1 are skipped) and over the entropy-coded
 * data after each SOS, where 0xFF is only followed by 0x00 (stuffing) or RSTn. Bytes between
 * markers are tolerated, as libjpeg tolerates them. */
static gboolean
jpeg_reaches_eoi (const guint8 *data,
                  gsize         len)
{
  gsize pos = 2; /* after SOI */
  for (;;)
    {
      while (pos < len && data[pos] != 0xff)
        pos++;
      while (pos < len && data[pos] == 0xff)
        pos++;
      if (pos >= len)
        return FALSE;
      guint8 marker = data[pos++];
      if (marker == 0xd9) /* EOI */
        return TRUE;
      if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) /* TEM, RSTn: no length */
        continue;
      if (pos + 2 > len)
        return FALSE;
      gsize length = ((gsize) data[pos] << 8) | data[pos + 1];
      if (length < 2 || pos + length > len)
        return FALSE;
      pos += length;
      if (marker != 0xda) /* not SOS */
        continue;
      /* entropy-coded data up to the next real marker */
      for (;;)
        {
          while (pos < len && data[pos] != 0xff)
            pos++;
          if (pos + 1 >= len)
            return FALSE;
          guint8 next = data[pos + 1];
          if (next == 0x00 || (next >= 0xd0 && next <= 0xd7))
            pos += 2;
          else
            break;
        }
    }
}

/* the pixbuf's pixels as a GillImage (RGB or RGBA, rows unpadded) */
static GillImage *
image_from_pixbuf (GdkPixbuf   *pixbuf,
                   const gchar *path,
                   GError     **error)
{
  gint channels = gdk_pixbuf_get_n_channels (pixbuf);
  if (gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 || (channels != 3 && channels != 4)
      || gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                   "%s: the decoder gave %d channels of %d bits; only 8-bit RGB or RGBA is expected", path,
                   channels, gdk_pixbuf_get_bits_per_sample (pixbuf));
      return NULL;
    }
  gint width = gdk_pixbuf_get_width (pixbuf), height = gdk_pixbuf_get_height (pixbuf);
  if (!gill_image_check_size (width, height, path, error))
    return NULL;
  GillImage *image = gill_image_new (width, height, channels);
  const guint8 *src = gdk_pixbuf_read_pixels (pixbuf);
  gsize src_stride = (gsize) gdk_pixbuf_get_rowstride (pixbuf);
  gsize row = gill_image_rowstride (image);
  for (gint y = 0; y < height; y++)
    memcpy (image->pixels + (gsize) y * row, src + (gsize) y * src_stride, row);
  return image;
}

GillImage *
gill_image_load (const gchar *path,
                 GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (GError) local = NULL;
  g_autoptr (GMappedFile) map = g_mapped_file_new (path, FALSE, &local);
  if (map == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "%s: cannot read the image: %s", path, local->message);
      return NULL;
    }
  const guint8 *data = (const guint8 *) g_mapped_file_get_contents (map);
  gsize len = g_mapped_file_get_length (map);

  /* 1. what it is: PNG and JPEG only */
  ImageFormat format = image_sniff (data, len);
  if (format == IMAGE_FORMAT_OTHER)
    {
      GdkPixbufFormat *other = gdk_pixbuf_get_file_info (path, NULL, NULL);
      if (other)
        {
          g_autofree gchar *name = gdk_pixbuf_format_get_name (other);
          g_set_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED,
                       "%s: %s images are not supported; only PNG and JPEG are decoded as the reference "
                       "decodes them: convert it to PNG", path, name);
        }
      else
        g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                     "%s: not an image (neither PNG nor JPEG%s)", path, len == 0 ? "; the file is empty" : "");
      return NULL;
    }

  /* 2. its size, before anything is decoded */
  gint64 width = -1, height = -1;
  if (format == IMAGE_FORMAT_PNG && !png_header_size (data, len, &width, &height))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: truncated or corrupt PNG (no IHDR chunk)", path);
      return NULL;
    }
  if (format == IMAGE_FORMAT_JPEG)
    {
      gint w = -1, h = -1;
      if (gdk_pixbuf_get_file_info (path, &w, &h) == NULL)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: truncated or corrupt JPEG header", path);
          return NULL;
        }
      width = w;
      height = h;
    }
  if (!gill_image_check_size (width, height, path, error))
    return NULL;

  /* 3. a JPEG must be complete: libjpeg would fill a truncated one with grey, Pillow refuses it */
  if (format == IMAGE_FORMAT_JPEG && !jpeg_reaches_eoi (data, len))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: the JPEG data ends before its end-of-image marker; the file is truncated", path);
      return NULL;
    }

  /* 4. decode */
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &local);
  if (pixbuf == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: cannot decode the %s image (%s); is the file truncated?",
                   path, format == IMAGE_FORMAT_PNG ? "PNG" : "JPEG", local->message);
      return NULL;
    }
  return image_from_pixbuf (pixbuf, path, error);
}

GillImage *
gill_image_convert_rgb (const GillImage *image)
{
  g_return_val_if_fail (image != NULL, NULL);
  if (image->channels == 3)
    return gill_image_copy (image);
  GillImage *rgb = gill_image_new (image->width, image->height, 3);
  gsize n = (gsize) image->width * (gsize) image->height;
  const guint8 *src = image->pixels;
  guint8 *dst = rgb->pixels;
  gint c = image->channels;
  for (gsize i = 0; i < n; i++, src += c, dst += 3)
    {
      if (c <= 2)
        {
          /* L, LA: grey into all three; alpha dropped */
          dst[0] = dst[1] = dst[2] = src[0];
        }
      else
        {
          /* RGBA: alpha dropped, not composited */
          dst[0] = src[0];
          dst[1] = src[1];
          dst[2] = src[2];
        }
    }
  return rgb;
}

GillImage *
gill_image_load_rgb (const gchar *path,
                     GError     **error)
{
  g_autoptr (GillImage) image = gill_image_load (path, error);
  if (image == NULL)
    return NULL;
  if (image->channels == 3)
    return g_steal_pointer (&image);
  return gill_image_convert_rgb (image);
}

GillImage *
gill_image_rgb_from_rgba (const guint8 *rgba,
                          gint          width,
                          gint          height,
                          gsize         rowstride,
                          GError      **error)
{
  if (width <= 0 || height <= 0)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                   "RGBA buffer: the image is %dx%d pixels; an image needs at least one pixel", width, height);
      return NULL;
    }
  if (!gill_image_check_size (width, height, "RGBA buffer", error))
    return NULL;
  g_return_val_if_fail (rgba != NULL, NULL);
  g_return_val_if_fail (rowstride >= 4 * (gsize) width, NULL);
  GillImage *rgb = gill_image_new (width, height, 3);
  for (gint y = 0; y < height; y++)
    {
      const guint8 *src = rgba + (gsize) y * rowstride;
      guint8 *dst = rgb->pixels + (gsize) y * gill_image_rowstride (rgb);
      for (gint x = 0; x < width; x++, src += 4, dst += 3)
        {
          dst[0] = src[0];
          dst[1] = src[1];
          dst[2] = src[2];
        }
    }
  return rgb;
}
