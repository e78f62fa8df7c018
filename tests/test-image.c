/* test-image.c — core/image: PNG/JPEG in as PIL's convert ("RGB") gives them, Pillow's resize to
 * the last bit, CLIP's preprocessing, the RGBA-buffer entry point, and every refusal.
 *
 * The expected pixels in tests/image/ were written by Pillow 9.4.0 (make-image-cases.py). */
#include <stdio.h>
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#include "core/base/error.h"
#include "core/image/image.h"
#include "core/image/preprocess.h"
#include "core/image/resize.h"
#include "fixture.h"

static gchar *
data_path (const gchar *name)
{
  return g_test_build_filename (G_TEST_DIST, "image", name, NULL);
}

/* a binary PPM (P6, maxval 255) as written by Pillow */
static GillImage *
read_ppm (const gchar *path)
{
  g_autofree gchar *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  gint w = 0, h = 0, maxval = 0, used = 0;
  g_assert_cmpint (sscanf (data, "P6 %d %d %d%n", &w, &h, &maxval, &used), ==, 3);
  g_assert_cmpint (maxval, ==, 255);
  used++; /* the single whitespace after maxval */
  g_assert_cmpuint (len - used, ==, (gsize) w * h * 3);
  GillImage *image = gill_image_new (w, h, 3);
  memcpy (image->pixels, data + used, (gsize) w * h * 3);
  return image;
}

static void
assert_same_pixels (const GillImage *a,
                    const GillImage *b,
                    const gchar     *what)
{
  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->height, ==, b->height);
  g_assert_cmpint (a->channels, ==, b->channels);
  gsize n = gill_image_rowstride (a) * a->height;
  for (gsize i = 0; i < n; i++)
    if (a->pixels[i] != b->pixels[i])
      g_error ("%s: byte %" G_GSIZE_FORMAT " (pixel %" G_GSIZE_FORMAT ", channel %" G_GSIZE_FORMAT "): %d, expected %d",
               what, i, i / a->channels, i % a->channels, a->pixels[i], b->pixels[i]);
}

/* ------------------------------------------------------------------ decoding */

/* every mode convert ("RGB") treats differently, and libjpeg-turbo's decodes */
static void
test_convert_rgb_modes (void)
{
  static const gchar *const names[] = {
    "mode-l.png", "mode-la.png", "mode-rgb.png", "mode-rgba.png", "mode-p.png", "mode-p-trns.png",
    "mode-1.png", "mode-p-2bit.png", "jpeg-420.jpg", "jpeg-progressive.jpg", "jpeg-444.jpg", "jpeg-grey.jpg",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree gchar *path = data_path (names[i]);
      g_autofree gchar *stem = g_strndup (names[i], strrchr (names[i], '.') - names[i]);
      g_autofree gchar *ppm = g_strconcat (stem, ".rgb.ppm", NULL);
      g_autofree gchar *expected_path = data_path (ppm);
      g_autoptr (GError) error = NULL;
      g_autoptr (GillImage) image = gill_image_load_rgb (path, &error);
      g_assert_no_error (error);
      g_autoptr (GillImage) expected = read_ppm (expected_path);
      assert_same_pixels (image, expected, names[i]);
    }
}

/* alpha is dropped, not composited: the RGB of a half-transparent pixel stays as stored */
static void
test_alpha_dropped (void)
{
  g_autofree gchar *path = data_path ("mode-rgba.png");
  g_autoptr (GError) error = NULL;
  g_autoptr (GillImage) rgba = gill_image_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rgba->channels, ==, 4);
  g_autoptr (GillImage) rgb = gill_image_convert_rgb (rgba);
  for (gsize i = 0; i < (gsize) rgba->width * rgba->height; i++)
    g_assert_cmpmem (rgb->pixels + 3 * i, 3, rgba->pixels + 4 * i, 3);
}

/* GIMP's RGBA buffer gives what the file of the same pixels gives */
static void
test_rgba_buffer_equals_file (void)
{
  g_autofree gchar *path = fixture ("tiny-clip/images/portrait_rgba.png");
  if (path == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GillImage) rgba = gill_image_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rgba->channels, ==, 4);
  g_autoptr (GillImage) from_file = gill_image_load_rgb (path, &error);
  g_assert_no_error (error);
  /* with a padded rowstride, as GEGL buffers may have */
  gsize stride = 4 * (gsize) rgba->width + 12;
  g_autofree guint8 *buffer = g_malloc0 (stride * rgba->height);
  for (gint y = 0; y < rgba->height; y++)
    memcpy (buffer + y * stride, rgba->pixels + y * gill_image_rowstride (rgba), gill_image_rowstride (rgba));
  g_autoptr (GillImage) from_buffer = gill_image_rgb_from_rgba (buffer, rgba->width, rgba->height, stride, &error);
  g_assert_no_error (error);
  assert_same_pixels (from_buffer, from_file, "RGBA buffer");

  /* and so does the whole preprocessing */
  GillPreprocessConfig config;
  gill_preprocess_config_clip (&config);
  g_autoptr (GillTensor) a = gill_preprocess_image (&config, from_file, &error);
  g_autoptr (GillTensor) b = gill_preprocess_image (&config, from_buffer, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (gill_tensor_data_f32 (a), gill_tensor_nbytes (a), gill_tensor_data_f32 (b), gill_tensor_nbytes (b));
}

/* ------------------------------------------------------------------ resize */

static void
test_resize_matches_pillow (void)
{
  g_autofree gchar *src_path = data_path ("resize-src.ppm");
  g_autoptr (GillImage) src = read_ppm (src_path);
  g_autofree gchar *folder = data_path ("");
  g_autoptr (GDir) images = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (images);
  const gchar *name;
  gint cases = 0;
  while ((name = g_dir_read_name (images)) != NULL)
    {
      gint w, h, f;
      if (!g_str_has_prefix (name, "resize-") || sscanf (name, "resize-%dx%d-%d.ppm", &w, &h, &f) != 3)
        continue;
      g_autofree gchar *path = data_path (name);
      g_autoptr (GillImage) expected = read_ppm (path);
      GillResample filter;
      g_assert_true (gill_resample_from_pil (f, &filter));
      g_autoptr (GError) error = NULL;
      g_autoptr (GillImage) got = gill_image_resize (src, w, h, filter, &error);
      g_assert_no_error (error);
      assert_same_pixels (got, expected, name);
      cases++;
    }
  g_assert_cmpint (cases, >=, 35);
}

/* the same size is a copy; one changed axis filters that axis only */
static void
test_resize_identity_and_one_axis (void)
{
  g_autoptr (GillImage) src = gill_image_new (5, 4, 1);
  for (gint i = 0; i < 20; i++)
    src->pixels[i] = (guint8) (i * 37 % 251);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillImage) same = gill_image_resize (src, 5, 4, GILL_RESAMPLE_BICUBIC, &error);
  g_assert_no_error (error);
  assert_same_pixels (same, src, "same size");
  /* a constant image stays constant under every filter (weights sum to 1 in fixed point) */
  g_autoptr (GillImage) flat = gill_image_new (9, 7, 3);
  memset (flat->pixels, 200, 9 * 7 * 3);
  for (gint f = GILL_RESAMPLE_LANCZOS; f <= GILL_RESAMPLE_HAMMING; f++)
    {
      g_autoptr (GillImage) up = gill_image_resize (flat, 9, 19, f, &error);
      g_assert_no_error (error);
      for (gsize i = 0; i < 9 * 19 * 3; i++)
        g_assert_cmpint (up->pixels[i], ==, 200);
    }
  g_assert_null (gill_image_resize (src, 0, 3, GILL_RESAMPLE_BICUBIC, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
}

/* ------------------------------------------------------------------ preprocessing */

static void
test_resize_size (void)
{
  gint w, h;
  gill_preprocess_resize_size (224, 640, 480, &w, &h);
  g_assert_cmpint (w, ==, 298);
  g_assert_cmpint (h, ==, 224);
  gill_preprocess_resize_size (224, 61, 97, &w, &h);
  g_assert_cmpint (w, ==, 224);
  g_assert_cmpint (h, ==, 356);
  gill_preprocess_resize_size (224, 224, 224, &w, &h);
  g_assert_cmpint (w, ==, 224);
  g_assert_cmpint (h, ==, 224);
}

/* HF's centre crop: floor margins; zero padding centred with ceil when the image is smaller */
static void
test_center_crop (void)
{
  g_autoptr (GillImage) src = gill_image_new (5, 3, 1);
  for (gint i = 0; i < 15; i++)
    src->pixels[i] = (guint8) (i + 1);
  g_autoptr (GillImage) c = gill_image_center_crop (src, 2, 2);
  /* top = (3 - 2) // 2 = 0, left = (5 - 2) // 2 = 1 */
  const guint8 want[] = { 2, 3, 7, 8 };
  g_assert_cmpmem (c->pixels, 4, want, 4);
  g_autoptr (GillImage) padded = gill_image_center_crop (src, 4, 6);
  /* rows: pad_top = ceil ((6 - 3) / 2) = 2 -> source rows at 2, 3, 4; columns: left = 0 */
  const guint8 want_padded[] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 0, 0, 0, 0 };
  g_assert_cmpmem (padded->pixels, 24, want_padded, 24);
}

static void
test_preprocess_config (void)
{
  GillPreprocessConfig config;
  gill_preprocess_config_clip (&config);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser,
                                             "{\"size\": {\"shortest_edge\": 336}, \"crop_size\": {\"height\": 336,"
                                             " \"width\": 320}, \"resample\": 2, \"image_mean\": [0.5, 0.5, 0.5],"
                                             " \"image_std\": 0.25, \"do_rescale\": true, \"rescale_factor\": 0.5}",
                                             -1, NULL));
  g_assert_true (gill_preprocess_config_from_json (json_node_get_object (json_parser_get_root (parser)), &config, &error));
  g_assert_no_error (error);
  g_assert_cmpint (config.shortest_edge, ==, 336);
  g_assert_cmpint (config.crop_height, ==, 336);
  g_assert_cmpint (config.crop_width, ==, 320);
  g_assert_cmpint (config.resample, ==, GILL_RESAMPLE_BILINEAR);
  g_assert_cmpfloat (config.image_std[2], ==, 0.25f);
  g_assert_cmpfloat (config.rescale_factor, ==, 0.5);

  static const gchar *const bad[][2] = {
    { "{\"size\": {\"height\": 224, \"width\": 224}}", "U" },
    { "{\"resample\": 0}", "U" },
    { "{\"size\": \"224\"}", "F" },
    { "{\"image_mean\": [0.5, 0.5]}", "F" },
    { "{\"do_resize\": 1}", "F" },
    { "{\"crop_size\": -3}", "F" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      g_assert_true (json_parser_load_from_data (p, bad[i][0], -1, NULL));
      gill_preprocess_config_clip (&config);
      g_assert_false (gill_preprocess_config_from_json (json_node_get_object (json_parser_get_root (p)), &config, &error));
      gint code = bad[i][1][0] == 'U' ? GILL_ERROR_UNSUPPORTED : GILL_ERROR_FORMAT;
      g_assert_error (error, GILL_ERROR, code);
      g_clear_error (&error);
    }
}

/* normalisation arithmetic: float32 (u8 / 255 in float64), then (x - mean) / std in float32 */
static void
test_preprocess_values (void)
{
  GillPreprocessConfig config;
  gill_preprocess_config_clip (&config);
  g_autoptr (GillImage) image = gill_image_new (224, 224, 3);
  for (gsize i = 0; i < 224 * 224 * 3; i++)
    image->pixels[i] = (guint8) (i * 7);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensor) t = gill_preprocess_image (&config, image, &error);
  g_assert_no_error (error);
  const float *v = gill_tensor_data_f32 (t);
  for (gsize c = 0; c < 3; c++)
    for (gsize i = 0; i < 224 * 224; i += 997)
      {
        float x = (float) ((double) image->pixels[3 * i + c] * (1.0 / 255.0));
        float want = (x - config.image_mean[c]) / config.image_std[c];
        g_assert_cmpfloat (v[c * 224 * 224 + i], ==, want);
      }
}

/* ------------------------------------------------------------------ refusals */

/* a file holding the first `keep` bytes of `bytes` */
static gchar *
write_temp (const gchar  *name,
            const guint8 *bytes,
            gsize         keep)
{
  g_autofree gchar *dir = g_dir_make_tmp ("gill-test-image-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, (const gchar *) bytes, (gssize) keep, NULL));
  return path;
}

static void
remove_temp (const gchar *path)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
}

/* a small image saved by gdk-pixbuf in `type` ("png", "jpeg", "bmp") */
static guint8 *
encode (const gchar *type,
        gsize       *len)
{
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 48);
  guint8 *p = gdk_pixbuf_get_pixels (pixbuf);
  for (gint y = 0; y < 48; y++)
    for (gint x = 0; x < 64 * 3; x++)
      p[y * gdk_pixbuf_get_rowstride (pixbuf) + x] = (guint8) (x * 5 + y * 3 + (x * y) % 17);
  gchar *buffer = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, len, type, &error, NULL));
  g_assert_no_error (error);
  return (guint8 *) buffer;
}

static void
assert_load_fails (const gchar  *name,
                   const guint8 *bytes,
                   gsize         len,
                   gint          code,
                   const gchar  *fragment)
{
  g_autofree gchar *path = write_temp (name, bytes, len);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillImage) image = gill_image_load_rgb (path, &error);
  g_assert_null (image);
  g_assert_error (error, GILL_ERROR, code);
  g_assert_nonnull (strstr (error->message, name));
  if (fragment && !strstr (error->message, fragment))
    g_error ("'%s' not in the message: %s", fragment, error->message);
  remove_temp (path);
}

static void
test_truncated_png (void)
{
  gsize len;
  g_autofree guint8 *png = encode ("png", &len);
  assert_load_fails ("half.png", png, len / 2, GILL_ERROR_FORMAT, "PNG");
  assert_load_fails ("header-only.png", png, 20, GILL_ERROR_FORMAT, "truncated");
}

static void
test_truncated_jpeg (void)
{
  gsize len;
  g_autofree guint8 *jpeg = encode ("jpeg", &len);
  /* the whole file loads; without its end it is refused, as Pillow refuses it */
  g_autofree gchar *whole = write_temp ("whole.jpg", jpeg, len);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillImage) image = gill_image_load_rgb (whole, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 64);
  remove_temp (whole);
  assert_load_fails ("cut.jpg", jpeg, len * 2 / 3, GILL_ERROR_FORMAT, "truncated");
  assert_load_fails ("no-eoi.jpg", jpeg, len - 2, GILL_ERROR_FORMAT, "truncated");
}

static void
test_not_an_image (void)
{
  const gchar *text = "this is a text file, not a picture\n";
  assert_load_fails ("notes.png", (const guint8 *) text, strlen (text), GILL_ERROR_FORMAT, "not an image");
  assert_load_fails ("empty.jpg", (const guint8 *) "", 0, GILL_ERROR_FORMAT, "empty");
  gsize len;
  g_autofree guint8 *bmp = encode ("bmp", &len);
  assert_load_fails ("picture.bmp", bmp, len, GILL_ERROR_UNSUPPORTED, "PNG");
  g_autoptr (GError) error = NULL;
  g_assert_null (gill_image_load_rgb ("/nonexistent/gill/cat.png", &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_IO);
}

/* a PNG whose IHDR says width x height, with a valid CRC and no image data */
static guint8 *
png_header (guint32 width,
            guint32 height,
            gsize  *len)
{
  static const guint8 magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  guint8 *b = g_malloc0 (33);
  memcpy (b, magic, 8);
  guint8 ihdr[17] = { 'I', 'H', 'D', 'R', width >> 24, width >> 16, width >> 8, width, height >> 24, height >> 16,
                      height >> 8, height, 8, 2, 0, 0, 0 };
  b[11] = 13;
  memcpy (b + 12, ihdr, 17);
  guint32 crc = 0xffffffffu;
  for (gsize i = 0; i < 17; i++)
    {
      crc ^= ihdr[i];
      for (gint k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
  crc ^= 0xffffffffu;
  b[29] = crc >> 24;
  b[30] = crc >> 16;
  b[31] = crc >> 8;
  b[32] = crc;
  *len = 33;
  return b;
}

static void
test_zero_size (void)
{
  gsize len;
  g_autofree guint8 *png = png_header (0, 0, &len);
  assert_load_fails ("zero.png", png, len, GILL_ERROR_FORMAT, "0x0");
  g_autoptr (GError) error = NULL;
  guint8 pixel[4] = { 1, 2, 3, 4 };
  g_assert_null (gill_image_rgb_from_rgba (pixel, 0, 0, 0, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT);
}

/* refused from the header, before anything is decoded or allocated */
static void
test_too_large (void)
{
  gsize len;
  g_autofree guint8 *png = png_header (20000, 20000, &len);
  assert_load_fails ("huge.png", png, len, GILL_ERROR_UNSUPPORTED, "limit");

  /* a real JPEG whose SOF0 says 65000 x 65000 */
  g_autofree guint8 *jpeg = encode ("jpeg", &len);
  gsize sof = 2;
  while (sof + 4 < len && !(jpeg[sof] == 0xff && jpeg[sof + 1] == 0xc0))
    sof += 2 + ((jpeg[sof + 2] << 8) | jpeg[sof + 3]);
  g_assert_cmpint (jpeg[sof + 1], ==, 0xc0);
  jpeg[sof + 5] = jpeg[sof + 7] = 0xfd;
  jpeg[sof + 6] = jpeg[sof + 8] = 0xe8;
  assert_load_fails ("huge.jpg", jpeg, len, GILL_ERROR_UNSUPPORTED, "limit");

  g_autoptr (GError) error = NULL;
  guint8 pixel[4] = { 0 };
  g_assert_null (gill_image_rgb_from_rgba (pixel, 20000, 20000, 80000, &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_true (gill_image_check_size (13000, 13000, "ok", &error));
  g_assert_false (gill_image_check_size (GILL_IMAGE_MAX_PIXELS + 1, 1, "long", &error));
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image/convert-rgb-modes", test_convert_rgb_modes);
  g_test_add_func ("/image/alpha-dropped", test_alpha_dropped);
  g_test_add_func ("/image/rgba-buffer-equals-file", test_rgba_buffer_equals_file);
  g_test_add_func ("/image/resize-matches-pillow", test_resize_matches_pillow);
  g_test_add_func ("/image/resize-identity-and-one-axis", test_resize_identity_and_one_axis);
  g_test_add_func ("/image/resize-size", test_resize_size);
  g_test_add_func ("/image/center-crop", test_center_crop);
  g_test_add_func ("/image/preprocess-config", test_preprocess_config);
  g_test_add_func ("/image/preprocess-values", test_preprocess_values);
  g_test_add_func ("/image/truncated-png", test_truncated_png);
  g_test_add_func ("/image/truncated-jpeg", test_truncated_jpeg);
  g_test_add_func ("/image/not-an-image", test_not_an_image);
  g_test_add_func ("/image/zero-size", test_zero_size);
  g_test_add_func ("/image/too-large", test_too_large);
  return g_test_run ();
}
