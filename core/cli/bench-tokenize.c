/* bench-tokenize.c — `gill bench tokenize`: tokenizer throughput in MB/s of UTF-8 input, one
 * thread, on two generated texts of --size-mb each: an English paragraph repeated, and a
 * paragraph mixing Latin, Greek, Cyrillic, Arabic, Devanagari, CJK and emoji repeated. Both
 * tokenizers run on both: OPT (GILL's, with its added tokens) and CLIP (ftfy clean-up
 * included; no truncation, so every byte is tokenized). */
#include <stdio.h>
#include <string.h>

#include "core/base/error.h"
#include "core/cli/bench.h"
#include "core/cli/cli.h"
#include "core/text/clip-tokenizer.h"
#include "core/text/opt-tokenizer.h"

static const gchar english[] =
  "The old lighthouse keeper climbed the spiral stairs every evening at dusk, counting the "
  "ninety-seven steps out loud as his father had taught him. From the lamp room he could see "
  "the fishing boats returning to the harbour, their wakes drawing silver lines across the "
  "dark water. He wrote the weather in a leather notebook: wind from the north-west, light "
  "rain, visibility about twelve miles. Nobody had asked him to keep these records for years, "
  "but he kept them anyway, because the sea deserved a witness and because he liked the sound "
  "of the pen on the paper. On Sundays his granddaughter brought bread and oranges, and they "
  "played chess by the window until the light changed and it was time to wind the clockwork "
  "again. \"You'll miss this place,\" she said once. \"I won't,\" he answered, \"I'll still be "
  "here; it's the place that will miss me.\"\n";

static const gchar mixed[] =
  "Le café du coin ouvre à 7 h, und die Bäckerei gegenüber verkauft frische Brezeln. "
  "Η θάλασσα ήταν ήρεμη σήμερα. Москва — столица России, а Киев — столица Украины. "
  "مرحبا بكم في مدينتنا الجميلة، نتمنى لكم إقامة سعيدة. "
  "हिन्दी एक सुंदर भाषा है। 東京は日本の首都で、人口は約1400万人です。"
  "北京是中国的首都，有着悠久的历史。서울은 한국의 수도입니다. "
  "Let's celebrate 🎉🎂 with friends 👨‍👩‍👧‍👦 and flags 🇯🇵🇫🇷! Total: 42,5 € / ¥3000.\n";

/* the paragraph repeated to at least `bytes` */
static gchar *
make_text (const gchar *paragraph,
           gsize        bytes,
           gsize       *len)
{
  gsize plen = strlen (paragraph);
  gsize copies = (bytes + plen - 1) / plen;
  GString *s = g_string_sized_new (copies * plen + 1);
  for (gsize i = 0; i < copies; i++)
    g_string_append_len (s, paragraph, plen);
  *len = s->len;
  return g_string_free (s, FALSE);
}

typedef struct
{
  const gchar *tokenizer;
  const gchar *text_name;
  gsize bytes;
  guint tokens;
  double median;
  double min;
} Row;

/* one timed tokenization; the number of ids in *tokens */
static gboolean
run_once (const GillOptTokenizer  *opt,
          const GillClipTokenizer *clip,
          const gchar             *text,
          gsize                    len,
          double                  *seconds,
          guint                   *tokens,
          GError                 **error)
{
  double t0 = gill_bench_now ();
  g_autoptr (GArray) ids = opt ? gill_opt_tokenizer_encode (opt, text, (gssize) len, TRUE, error)
                               : gill_clip_tokenizer_encode (clip, text, (gssize) len,
                                                             GILL_CLIP_ENCODE_DEFAULT, error);
  *seconds = gill_bench_now () - t0;
  if (ids == NULL)
    return FALSE;
  *tokens = ids->len;
  return TRUE;
}

/* $GILL_FIXTURES/tokenizers/NAME (transfer full), or NULL */
static gchar *
default_files (const gchar *name)
{
  const gchar *fixtures = g_getenv ("GILL_FIXTURES");
  return fixtures ? g_build_filename (fixtures, "tokenizers", name, NULL) : NULL;
}

int
gill_bench_tokenize (int argc, char **argv)
{
  gboolean json = FALSE;
  gint repetitions = 3;
  gdouble size_mb = 8.0;
  g_autofree gchar *opt_files = NULL;
  g_autofree gchar *clip_files = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object on the last line of stdout", NULL },
    { "repetitions", 'r', 0, G_OPTION_ARG_INT, &repetitions, "timed runs after one warm-up (default 3)", "N" },
    { "size-mb", 0, 0, G_OPTION_ARG_DOUBLE, &size_mb, "size of each generated text (default 8)", "MB" },
    { "opt", 0, 0, G_OPTION_ARG_FILENAME, &opt_files, "OPT tokenizer folder (default $GILL_FIXTURES/tokenizers/opt)", "DIR" },
    { "clip", 0, 0, G_OPTION_ARG_FILENAME, &clip_files, "CLIP tokenizer folder or .txt.gz (default $GILL_FIXTURES/tokenizers/clip)", "PATH" },
    { NULL }
  };
  if (!gill_cli_parse ("bench tokenize", NULL,
                       "Tokenizer throughput (MB/s of UTF-8 input, one thread) of the OPT and the\n"
                       "CLIP tokenizer on a generated English text and a mixed-script text.",
                       entries, NULL, &argc, &argv))
    return GILL_EXIT_USAGE;
  if (repetitions < 1 || size_mb <= 0 || size_mb > 1024)
    {
      fprintf (stderr, "gill bench tokenize: --repetitions must be >= 1 and --size-mb in (0, 1024]\n");
      return GILL_EXIT_USAGE;
    }
  if (opt_files == NULL)
    opt_files = default_files ("opt");
  if (clip_files == NULL)
    clip_files = default_files ("clip");
  if (opt_files == NULL || clip_files == NULL)
    {
      fprintf (stderr, "gill bench tokenize: no tokenizer files; pass --opt DIR and --clip PATH "
               "or set GILL_FIXTURES\n");
      return GILL_EXIT_USAGE;
    }

  g_autoptr (GError) error = NULL;
  g_autoptr (GillOptTokenizer) opt = gill_opt_tokenizer_load (opt_files, &error);
  g_autoptr (GillClipTokenizer) clip = opt ? gill_clip_tokenizer_load (clip_files, &error) : NULL;
  if (clip == NULL)
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }
  gill_opt_tokenizer_add_gill_tokens (opt);

  gsize target = (gsize) (size_mb * 1e6);
  gsize lens[2];
  g_autofree gchar *english_text = make_text (english, target, &lens[0]);
  g_autofree gchar *mixed_text = make_text (mixed, target, &lens[1]);
  const gchar *texts[2] = { english_text, mixed_text };
  const gchar *text_names[2] = { "English", "mixed scripts" };

  Row rows[4];
  g_autofree double *times = g_new (double, repetitions);
  for (guint r = 0; r < 4; r++)
    {
      gboolean is_opt = r < 2;
      guint t = r % 2;
      rows[r] = (Row) { is_opt ? "opt" : "clip", text_names[t], lens[t], 0, 0, 0 };
      for (gint k = -1; k < repetitions; k++)
        {
          double s;
          if (!run_once (is_opt ? opt : NULL, is_opt ? NULL : clip, texts[t], lens[t], &s,
                         &rows[r].tokens, &error))
            {
              gill_cli_print_error (error);
              return GILL_EXIT_FAILURE;
            }
          if (k >= 0)
            times[k] = s;
          gill_bench_progress ("%s / %s: %s %.3f s (%.1f MB/s)", rows[r].tokenizer, rows[r].text_name,
                               k < 0 ? "warm-up" : "run", s, lens[t] / 1e6 / s);
        }
      rows[r].min = gill_bench_min (times, repetitions);
      rows[r].median = gill_bench_median (times, repetitions);
    }

  g_autofree gchar *machine = gill_bench_machine ();
  if (json)
    {
      JsonBuilder *b = gill_bench_json_begin ("tokenize");
      json_builder_set_member_name (b, "rows");
      json_builder_begin_array (b);
      for (guint r = 0; r < 4; r++)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "tokenizer");
          json_builder_add_string_value (b, rows[r].tokenizer);
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, rows[r].text_name);
          json_builder_set_member_name (b, "bytes");
          json_builder_add_int_value (b, (gint64) rows[r].bytes);
          json_builder_set_member_name (b, "tokens");
          json_builder_add_int_value (b, rows[r].tokens);
          json_builder_set_member_name (b, "seconds_median");
          json_builder_add_double_value (b, rows[r].median);
          json_builder_set_member_name (b, "seconds_min");
          json_builder_add_double_value (b, rows[r].min);
          json_builder_set_member_name (b, "mb_per_second_median");
          json_builder_add_double_value (b, rows[r].bytes / 1e6 / rows[r].median);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      gill_bench_json_end (b);
    }
  else
    {
      printf ("| tokenizer | text | MB | tokens | MB/s (median) | MB/s (best) |\n");
      printf ("|---|---|---|---|---|---|\n");
      for (guint r = 0; r < 4; r++)
        printf ("| %s | %s | %.1f | %u | %.1f | %.1f |\n", rows[r].tokenizer, rows[r].text_name,
                rows[r].bytes / 1e6, rows[r].tokens, rows[r].bytes / 1e6 / rows[r].median,
                rows[r].bytes / 1e6 / rows[r].min);
      printf ("\n%s; one thread; %d runs after one warm-up; peak RSS %.1f MiB\n", machine,
              repetitions, gill_bench_peak_rss () / 1048576.0);
    }
  return GILL_EXIT_OK;
}
