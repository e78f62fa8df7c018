/* test-tensor.c — GillTensor views, dtype conversions and strided copies. */
#include <math.h>
#include <string.h>

#include "core/base/half.h"
#include "core/base/tensor.h"

static void
test_f16_round_trip (void)
{
  /* every finite half converts to float and back unchanged */
  for (guint32 h = 0; h < 0x10000; h++)
    {
      if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
        continue; /* NaNs keep being NaN, not bit patterns */
      float f = gill_f16_to_f32 ((guint16) h);
      g_assert_cmpuint (gill_f32_to_f16 (f), ==, h);
    }
  g_assert_cmpfloat (gill_f16_to_f32 (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (gill_f16_to_f32 (0x0001), ==, ldexpf (1.0f, -24)); /* smallest subnormal */
  g_assert_cmpuint (gill_f32_to_f16 (65520.0f), ==, 0x7c00);           /* rounds to infinity */
  g_assert_cmpuint (gill_f32_to_f16 (1.0f + ldexpf (1.0f, -11)), ==, 0x3c00); /* ties to even */
}

static void
test_bf16_round_trip (void)
{
  g_assert_cmpfloat (gill_bf16_to_f32 (0x3f80), ==, 1.0f);
  g_assert_cmpuint (gill_f32_to_bf16 (1.0f), ==, 0x3f80);
  g_assert_cmpuint (gill_f32_to_bf16 (1.00390625f), ==, 0x3f80); /* tie 1 + 2^-8 -> even */
  g_assert_cmpuint (gill_f32_to_bf16 (1.01171875f), ==, 0x3f82); /* tie 1 + 3*2^-8 -> even (up) */
  g_assert_true (isnan (gill_bf16_to_f32 (gill_f32_to_bf16 (NAN))));
}

static void
test_strided_copy (void)
{
  /* a 5x6 transposed view of a contiguous 6x5 buffer: stride (1, 5) */
  float data[30];
  for (gint i = 0; i < 30; i++)
    data[i] = (float) i;
  gint64 shape[2] = { 5, 6 }, strides[2] = { 1, 5 };
  g_autoptr (GillTensor) t = gill_tensor_new_view (GILL_DTYPE_F32, 2, shape, strides, (const guint8 *) data, NULL);
  g_assert_false (gill_tensor_is_contiguous (t));
  float out[30];
  gill_tensor_copy_f32 (t, out);
  for (gint r = 0; r < 5; r++)
    for (gint c = 0; c < 6; c++)
      g_assert_cmpfloat (out[r * 6 + c], ==, data[c * 5 + r]);
}

static void
test_integer_copy (void)
{
  const guint8 flags[3] = { 1, 0, 7 };
  gint64 shape[1] = { 3 };
  g_autoptr (GillTensor) t = gill_tensor_new_view (GILL_DTYPE_BOOL, 1, shape, NULL, flags, NULL);
  gint64 out[3];
  gill_tensor_copy_i64 (t, out);
  g_assert_cmpint (out[0], ==, 1);
  g_assert_cmpint (out[1], ==, 0);
  g_assert_cmpint (out[2], ==, 1);
}

static void
test_owner_keeps_data (void)
{
  GBytes *bytes = g_bytes_new ("\x00\x00\x80\x3f", 4);
  gint64 shape[1] = { 1 };
  g_autoptr (GillTensor) t = gill_tensor_new_view (GILL_DTYPE_F32, 1, shape, NULL, g_bytes_get_data (bytes, NULL), bytes);
  g_bytes_unref (bytes); /* the tensor holds the last reference */
  float v;
  gill_tensor_copy_f32 (t, &v);
  g_assert_cmpfloat (v, ==, 1.0f);
}

static void
test_empty_and_scalar (void)
{
  gint64 shape[2] = { 0, 4 };
  g_autoptr (GillTensor) empty = gill_tensor_new_f32 (2, shape);
  g_assert_cmpint (gill_tensor_numel (empty), ==, 0);
  g_assert_cmpuint (gill_tensor_nbytes (empty), ==, 0);
  g_autoptr (GillTensor) scalar = gill_tensor_new_f32 (0, NULL);
  g_assert_cmpint (gill_tensor_numel (scalar), ==, 1);
  g_autofree gchar *s = gill_tensor_shape_string (scalar);
  g_assert_cmpstr (s, ==, "[]");
}

static void
test_dtype_names (void)
{
  GillDType d;
  g_assert_true (gill_dtype_from_safetensors ("BF16", &d));
  g_assert_cmpint (d, ==, GILL_DTYPE_BF16);
  g_assert_false (gill_dtype_from_safetensors ("F8_E4M3", &d));
  g_assert_cmpuint (gill_dtype_size (GILL_DTYPE_I64), ==, 8);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tensor/f16-round-trip", test_f16_round_trip);
  g_test_add_func ("/tensor/bf16-round-trip", test_bf16_round_trip);
  g_test_add_func ("/tensor/strided-copy", test_strided_copy);
  g_test_add_func ("/tensor/integer-copy", test_integer_copy);
  g_test_add_func ("/tensor/owner-keeps-data", test_owner_keeps_data);
  g_test_add_func ("/tensor/empty-and-scalar", test_empty_and_scalar);
  g_test_add_func ("/tensor/dtype-names", test_dtype_names);
  return g_test_run ();
}
