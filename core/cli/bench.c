/* bench.c — `gill bench <component>`: timings and memory, never from tests.
 *
 * Every benchmark: progress on stderr, one warm-up then N repetitions, median and min, peak RSS,
 * the machine; a markdown table on stdout, or with --json one JSON object on the last line. */
#include "core/cli/bench.h"
#include "core/ops/gemm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/cli/cli.h"

double
gill_bench_now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static gint
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

double
gill_bench_median (double *values,
                   gsize   n)
{
  g_return_val_if_fail (n > 0, 0);
  qsort (values, n, sizeof (double), (int (*) (const void *, const void *)) compare_doubles);
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double
gill_bench_min (const double *values,
                gsize         n)
{
  double m = values[0];
  for (gsize i = 1; i < n; i++)
    m = MIN (m, values[i]);
  return m;
}

/* a "VmXXX:   1234 kB" line of /proc/self/status, in bytes */
static gint64
proc_status_kb (const gchar *field)
{
  g_autofree gchar *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const gchar *line = strstr (status, field);
  return line ? g_ascii_strtoll (line + strlen (field), NULL, 10) * 1024 : -1;
}

gint64
gill_bench_peak_rss (void)
{
  return proc_status_kb ("VmHWM:");
}

gint64
gill_bench_current_rss (void)
{
  return proc_status_kb ("VmRSS:");
}

gchar *
gill_bench_machine (void)
{
  g_autofree gchar *cpuinfo = NULL;
  g_autofree gchar *model = NULL;
  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      const gchar *line = strstr (cpuinfo, "model name");
      const gchar *colon = line ? strchr (line, ':') : NULL;
      if (colon)
        model = g_strstrip (g_strndup (colon + 1, strcspn (colon + 1, "\n")));
    }
  g_autofree gchar *meminfo = NULL;
  double gib = 0;
  if (g_file_get_contents ("/proc/meminfo", &meminfo, NULL, NULL) && g_str_has_prefix (meminfo, "MemTotal:"))
    gib = g_ascii_strtod (meminfo + 9, NULL) / (1024.0 * 1024.0);
  /* the kernels OpenBLAS picked for this CPU: an old OpenBLAS that does not know a newer CPU falls
   * back to slow ones (Prescott); OPENBLAS_CORETYPE overrides it (README, Speed) */
  return g_strdup_printf ("%s, %u cores, %.0f GiB, OpenBLAS %s kernels", model ? model : "unknown CPU",
                          g_get_num_processors (), gib, openblas_get_corename ());
}

JsonBuilder *
gill_bench_json_begin (const gchar *name)
{
  JsonBuilder *b = json_builder_new ();
  g_autofree gchar *machine = gill_bench_machine ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "benchmark");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "machine");
  json_builder_add_string_value (b, machine);
  json_builder_set_member_name (b, "blas_threads");
  json_builder_add_int_value (b, gill_gemm_threads ());
  json_builder_set_member_name (b, "blas_core");
  json_builder_add_string_value (b, openblas_get_corename ());
  json_builder_set_member_name (b, "blas_parallel");
  json_builder_add_int_value (b, openblas_get_parallel ());
  return b;
}

void
gill_bench_json_end (JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "peak_rss_bytes");
  json_builder_add_int_value (builder, gill_bench_peak_rss ());
  json_builder_end_object (builder);
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree gchar *text = json_to_string (root, FALSE);
  printf ("%s\n", text);
  g_object_unref (builder);
}

void
gill_bench_progress (const gchar *format,
                     ...)
{
  va_list args;
  va_start (args, format);
  fputs ("gill bench: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
}

typedef struct
{
  const gchar *name;
  int (*run) (int argc, char **argv);
  const gchar *summary;
} Bench;

static const Bench benches[] = {
  { "load", gill_bench_load, "open a model and resolve every tensor: time and resident memory" },
  { "tokenize", gill_bench_tokenize, "tokenizer throughput (MB/s), English and mixed scripts" },
  { "opt", gill_bench_opt, "OPT prefill and decode on in-memory random weights vs sgemm rate and bandwidth" },
  { "clip", gill_bench_clip, "CLIP vision (batch 1, 8) and text towers on in-memory random weights vs sgemm rate" },
  { "unet", gill_bench_unet, "SD 1.5 UNet guided step on in-memory random weights vs sgemm rate" },
  { "vae", gill_bench_vae, "SD 1.5 VAE decode on in-memory random weights vs sgemm rate" },
  { "sd", gill_bench_sd, "SD 1.5 end to end from temporary random-weight files: step, decode, peak RSS" },
};

int
gill_cmd_bench (int argc, char **argv)
{
  if (argc >= 2)
    for (gsize i = 0; i < G_N_ELEMENTS (benches); i++)
      if (strcmp (argv[1], benches[i].name) == 0)
        return benches[i].run (argc - 1, argv + 1);
  FILE *out = argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) ? stdout : stderr;
  fprintf (out, "Usage: gill bench BENCHMARK [OPTION...]\n\nBenchmarks:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (benches); i++)
    fprintf (out, "  %-10s %s\n", benches[i].name, benches[i].summary);
  fprintf (out, "\nEach takes --json (one JSON object on the last line of stdout) and --repetitions N.\n");
  return out == stdout ? GILL_EXIT_OK : GILL_EXIT_USAGE;
}
