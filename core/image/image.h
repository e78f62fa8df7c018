/* image.h — GillImage: 8-bit interleaved pixels, and decoding PNG/JPEG the way the reference opens
 * images: `PIL.Image.open (file).convert ("RGB")` (models.md §2.5, Pillow 9.4 as GILL pins it).
 *
 *   GillImage *rgb = gill_image_load_rgb ("cat.png", &error);       // RGB, 3 bytes a pixel
 *   GillImage *rgb = gill_image_rgb_from_rgba (layer, w, h, 4 * w, &error);  // GIMP's buffer
 *
 * What convert ("RGB") does, and so what these do:
 *   RGBA, LA        alpha dropped, never composited onto a background
 *   L (grey), LA    the grey value copied into R, G and B
 *   P (palette)     each index looked up in the palette (a tRNS transparency is dropped too)
 *   1, 2, 4 bit     grey levels scaled to 0..255 (libpng and Pillow agree)
 *   16 bit          the high byte of each sample (Pillow's RGB;16B/LA;16B unpackers and libpng's
 *                   strip_16 agree), except 16-bit grey without alpha: Pillow opens it as mode I and
 *                   convert ("RGB") clips each value at 255 (a near-white picture); gill keeps the
 *                   high byte instead
 * Decoding is gdk-pixbuf's (libpng, libjpeg-turbo with its default islow IDCT and fancy
 * upsampling, as Pillow uses it); EXIF orientation is not applied, by either. Only PNG and JPEG are
 * accepted. Files are refused before decoding when larger than GILL_IMAGE_MAX_PIXELS, and a JPEG
 * whose entropy-coded data ends before its EOI marker is refused as truncated, as Pillow does
 * ("image file is truncated") where libjpeg would fill the rest with grey. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Pillow raises DecompressionBombError above 2 x Image.MAX_IMAGE_PIXELS (2 x 89,478,485) pixels;
 * gill refuses images above the same count (UNSUPPORTED), before decoding them. */
#define GILL_IMAGE_MAX_PIXELS G_GINT64_CONSTANT (178956970)

typedef struct _GillImage GillImage;

struct _GillImage
{
  gint width;
  gint height;
  gint channels;   /* bytes a pixel: 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) */
  guint8 *pixels;  /* height rows of width * channels bytes, no padding; owned */
};

/* a zeroed image */
GillImage *gill_image_new            (gint             width,
                                      gint             height,
                                      gint             channels);
GillImage *gill_image_copy           (const GillImage *image);
void       gill_image_free           (GillImage       *image);
gsize      gill_image_rowstride      (const GillImage *image);  /* width x channels */

/* the decoded file as gdk-pixbuf gives it (RGB or RGBA), after the size and truncation checks.
 * Errors: IO (cannot read), FORMAT (not an image, truncated, corrupt, 0x0), UNSUPPORTED (another
 * format than PNG/JPEG, more than GILL_IMAGE_MAX_PIXELS pixels); the message names the file. */
GillImage *gill_image_load           (const gchar     *path,
                                      GError         **error);
/* gill_image_load + gill_image_convert_rgb: what `Image.open (path).convert ("RGB")` holds */
GillImage *gill_image_load_rgb       (const gchar     *path,
                                      GError         **error);
/* convert ("RGB") of an image in memory: grey replicated, alpha dropped (transfer full) */
GillImage *gill_image_convert_rgb    (const GillImage *image);
/* an RGBA u8 buffer (GIMP's "R'G'B'A u8" drawable data) as RGB, alpha dropped: the same pixels
 * gill_image_load_rgb gives for that buffer saved as an RGBA PNG. rowstride >= 4 x width bytes.
 * Errors: INVALID_ARGUMENT for a 0-pixel size, UNSUPPORTED above GILL_IMAGE_MAX_PIXELS. */
GillImage *gill_image_rgb_from_rgba  (const guint8    *rgba,
                                      gint             width,
                                      gint             height,
                                      gsize            rowstride,
                                      GError         **error);
/* the size rules every entry point applies (name is used in the message) */
gboolean   gill_image_check_size     (gint64           width,
                                      gint64           height,
                                      const gchar     *name,
                                      GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillImage, gill_image_free)

G_END_DECLS
