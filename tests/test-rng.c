/* test-rng.c — GillRng, torch's default CPU generator (core/base/rng.c).
 *
 * The engine against the published mt19937 reference outputs, both randn fill paths against
 * values torch 1.13 prints (torch.manual_seed (0); torch.randn (7) and torch.randn (2, 4, 8, 8)),
 * the state carried between draws (the cached Box–Muller sine, the ragged 16-wide tail), seeds
 * above 2^32, and determinism. The full goldens run through `gill check` (fixtures/rng). */
#include "core/base/rng.h"

#include <math.h>
#include <string.h>

static guint32
bits (float x)
{
  guint32 u;
  memcpy (&u, &x, sizeof u);
  return u;
}

/* std::mt19937 default seed 5489: first output 3499211612, the 10000th 4123659995 (C++11
 * [rand.predef]); torch's engine is the same generator */
static void
test_mt19937_reference (void)
{
  g_autoptr (GillRng) rng = gill_rng_new (5489);
  g_assert_cmpuint (gill_rng_random (rng), ==, 3499211612u);
  for (guint k = 2; k < 10000; k++)
    gill_rng_random (rng);
  g_assert_cmpuint (gill_rng_random (rng), ==, 4123659995u);
}

/* random64 = first draw in the high half, second in the low half */
static void
test_random64 (void)
{
  g_autoptr (GillRng) a = gill_rng_new (1);
  g_autoptr (GillRng) b = gill_rng_new (1);
  guint64 hi = gill_rng_random (a);
  guint64 lo = gill_rng_random (a);
  g_assert_cmpuint (gill_rng_random64 (b), ==, (hi << 32) | lo);
}

/* fewer than 16 elements: normal_distribution<double>, torch.manual_seed (0); torch.randn (7) */
static void
test_scalar_path (void)
{
  const guint32 expected[3] = { 0x3fc53f5c, 0xbe963c50, 0xc00b7149 }; /* 1.5410, -0.2934, -2.1788 */
  g_autoptr (GillRng) rng = gill_rng_new (0);
  float out[7];
  gill_rng_randn (rng, out, 7);
  for (guint k = 0; k < 3; k++)
    g_assert_cmphex (bits (out[k]), ==, expected[k]);
}

/* 16 or more: the 16-wide fill, torch.manual_seed (0); torch.randn (2, 4, 8, 8) */
static void
test_vector_path (void)
{
  const guint32 expected[3] = { 0xbf901b85, 0xbf93808a, 0xbe804bd6 }; /* -1.1258, -1.1524, -0.2506 */
  g_autoptr (GillRng) rng = gill_rng_new (0);
  float out[512];
  gill_rng_randn (rng, out, 512);
  for (guint k = 0; k < 3; k++)
    g_assert_cmphex (bits (out[k]), ==, expected[k]);
}

/* a ragged size redraws its last 16: only the first full blocks agree with the shorter draw */
static void
test_ragged_tail (void)
{
  float a[16], b[17];
  g_autoptr (GillRng) ra = gill_rng_new (3);
  g_autoptr (GillRng) rb = gill_rng_new (3);
  gill_rng_randn (ra, a, 16);
  gill_rng_randn (rb, b, 17);
  g_assert_cmphex (bits (a[0]), ==, bits (b[0]));
  /* 17 + 16 uniforms were drawn for b, 16 for a */
  for (guint k = 0; k < 17; k++)
    gill_rng_random (ra);
  g_assert_cmpuint (gill_rng_random (ra), ==, gill_rng_random (rb));
}

/* the scalar path caches the sine of each pair across calls; manual_seed drops it */
static void
test_cached_normal (void)
{
  float pair[2], one[2], again;
  g_autoptr (GillRng) a = gill_rng_new (11);
  g_autoptr (GillRng) b = gill_rng_new (11);
  gill_rng_randn (a, pair, 2);
  gill_rng_randn (b, &one[0], 1);
  gill_rng_randn (b, &one[1], 1);
  g_assert_cmphex (bits (pair[0]), ==, bits (one[0]));
  g_assert_cmphex (bits (pair[1]), ==, bits (one[1]));

  gill_rng_randn (a, &again, 1);       /* leaves a sine cached */
  gill_rng_manual_seed (a, 11);
  gill_rng_randn (a, &again, 1);
  g_assert_cmphex (bits (again), ==, bits (pair[0]));
}

/* torch seeds the engine with the low 32 bits; the full seed is kept */
static void
test_seed_above_2_32 (void)
{
  const guint64 big = (G_GUINT64_CONSTANT (1) << 32) + 7;
  g_autoptr (GillRng) a = gill_rng_new (big);
  g_autoptr (GillRng) b = gill_rng_new (7);
  g_assert_cmpuint (gill_rng_initial_seed (a), ==, big);
  float x[100], y[100];
  gill_rng_randn (a, x, 100);
  gill_rng_randn (b, y, 100);
  g_assert_cmpmem (x, sizeof x, y, sizeof y);
  gill_rng_randn (a, x, 5);
  gill_rng_randn (b, y, 5);
  g_assert_cmpmem (x, 5 * sizeof (float), y, 5 * sizeof (float));
}

/* same seed, same sequence of sizes -> the same bits; another seed -> different */
static void
test_determinism (void)
{
  const gsize sizes[] = { 16384, 5, 16384, 1, 33 };
  g_autoptr (GillRng) a = gill_rng_new (1234);
  g_autoptr (GillRng) b = gill_rng_new (1234);
  g_autoptr (GillRng) c = gill_rng_new (1235);
  g_autofree float *x = g_new (float, 16384);
  g_autofree float *y = g_new (float, 16384);
  g_autofree float *z = g_new (float, 16384);
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      gill_rng_randn (a, x, sizes[k]);
      gill_rng_randn (b, y, sizes[k]);
      gill_rng_randn (c, z, sizes[k]);
      g_assert_cmpmem (x, sizes[k] * sizeof (float), y, sizes[k] * sizeof (float));
      g_assert_true (memcmp (x, z, sizes[k] * sizeof (float)) != 0);
    }
}

/* both paths are standard normals: mean ~ 0, variance ~ 1, all finite */
static void
test_moments (void)
{
  const gsize n = 1 << 18;
  g_autofree float *v = g_new (float, n);
  g_autoptr (GillRng) rng = gill_rng_new (99);
  gill_rng_randn (rng, v, n);
  for (gsize k = 0; k < 1024; k += 8)
    gill_rng_randn (rng, v + k, 8);      /* mix in the scalar path */
  double sum = 0.0, sum2 = 0.0;
  for (gsize k = 0; k < n; k++)
    {
      g_assert_true (isfinite (v[k]));
      sum += v[k];
      sum2 += (double) v[k] * v[k];
    }
  double mean = sum / n;
  double var = sum2 / n - mean * mean;
  g_assert_cmpfloat (fabs (mean), <, 0.01);
  g_assert_cmpfloat (fabs (var - 1.0), <, 0.01);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rng/mt19937-reference", test_mt19937_reference);
  g_test_add_func ("/rng/random64", test_random64);
  g_test_add_func ("/rng/scalar-path", test_scalar_path);
  g_test_add_func ("/rng/vector-path", test_vector_path);
  g_test_add_func ("/rng/ragged-tail", test_ragged_tail);
  g_test_add_func ("/rng/cached-normal", test_cached_normal);
  g_test_add_func ("/rng/seed-above-2-32", test_seed_above_2_32);
  g_test_add_func ("/rng/determinism", test_determinism);
  g_test_add_func ("/rng/moments", test_moments);
  return g_test_run ();
}
