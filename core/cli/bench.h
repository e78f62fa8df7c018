/* bench.h — shared pieces of `gill bench <component>`: timing, statistics, peak RSS, machine
 * description and the two output shapes (markdown table on stdout, or --json: one JSON object on
 * the last line of stdout). Progress goes to stderr. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  gboolean json;     /* --json */
  gint repetitions;  /* --repetitions N (after one warm-up) */
  gchar *preset;     /* --preset NAME */
} GillBenchOptions;

double  gill_bench_now          (void);                         /* monotonic seconds */
double  gill_bench_median       (double *values, gsize n);      /* sorts values */
double  gill_bench_min          (const double *values, gsize n);
gint64  gill_bench_peak_rss     (void);                         /* bytes (VmHWM) */
gint64  gill_bench_current_rss  (void);                         /* bytes (VmRSS) */
gchar  *gill_bench_machine      (void);                         /* "model, N cores, X GiB, OpenBLAS K kernels" */
/* a JsonBuilder already opened with {"benchmark": name, "machine": ..., "threads": ...} */
JsonBuilder *gill_bench_json_begin (const gchar *name);
/* adds peak_rss_bytes, closes the object and prints it as the last line of stdout */
void    gill_bench_json_end     (JsonBuilder *builder);
void    gill_bench_progress     (const gchar *format, ...) G_GNUC_PRINTF (1, 2); /* stderr */

/* sub-benchmarks: each parses its own options after "gill bench <name>" */
int gill_bench_load     (int argc, char **argv);
int gill_bench_tokenize (int argc, char **argv);
int gill_bench_opt      (int argc, char **argv);
int gill_bench_clip     (int argc, char **argv);
int gill_bench_unet     (int argc, char **argv);
int gill_bench_vae      (int argc, char **argv);
int gill_bench_sd       (int argc, char **argv);

G_END_DECLS
