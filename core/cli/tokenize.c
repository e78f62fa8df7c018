/* tokenize.c — `gill tokenize --tokenizer opt|clip [--decode] TEXT|-`.
 *
 * Encoding prints one line per token: position, id, token string (byte-level alphabet: "Ġ" is a
 * space, "Ċ" a newline, "</w>" ends a CLIP word). --decode reads ids (separated by spaces,
 * commas, brackets or newlines) and prints the text. "-" reads TEXT from standard input, byte
 * for byte (no trailing newline is removed). The tokenizer files come from --files, else
 * $GILL_OPT_TOKENIZER / $GILL_CLIP_TOKENIZER. Only the public API (core/gill.h) is used. */
#include "core/cli/tokenize.h"

#include <stdio.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/gill.h"

typedef struct
{
  gchar *tokenizer;      /* "opt" or "clip" */
  gchar *files;
  gboolean decode;
  gboolean skip_special;
  gboolean no_special;
  gboolean plain;
  gboolean pad;
  gboolean basic;
} TokenizeOptions;

/* the whole of standard input, or argv's TEXT */
static gchar *
read_input (const gchar *arg,
            gsize       *len,
            GError     **error)
{
  if (strcmp (arg, "-") != 0)
    {
      *len = strlen (arg);
      return g_strdup (arg);
    }
  GByteArray *bytes = g_byte_array_new ();
  guint8 buf[65536];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
    g_byte_array_append (bytes, buf, (guint) n);
  if (ferror (stdin))
    {
      g_byte_array_unref (bytes);
      g_set_error (error, GILL_ERROR, GILL_ERROR_IO, "standard input: read error; pass the text "
                   "as an argument instead");
      return NULL;
    }
  *len = bytes->len;
  g_byte_array_append (bytes, (const guint8 *) "", 1);
  return (gchar *) g_byte_array_free (bytes, FALSE);
}

/* "2 31414, 232" or "[2, 31414, 232]" -> ids */
static GArray *
parse_ids (const gchar *text,
           GError     **error)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  const gchar *p = text;
  while (*p)
    {
      if (g_ascii_isspace (*p) || *p == ',' || *p == '[' || *p == ']')
        {
          p++;
          continue;
        }
      gchar *end = NULL;
      gint64 v = g_ascii_strtoll (p, &end, 10);
      if (end == p || v < G_MININT32 || v > G_MAXINT32)
        {
          g_array_unref (ids);
          g_set_error (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT,
                       "--decode: '%.20s' is not a token id; give integers separated by spaces", p);
          return NULL;
        }
      gint32 id = (gint32) v;
      g_array_append_val (ids, id);
      p = end;
    }
  return ids;
}

static const gchar *
files_for (const TokenizeOptions *o)
{
  if (o->files)
    return o->files;
  return g_getenv (strcmp (o->tokenizer, "opt") == 0 ? "GILL_OPT_TOKENIZER" : "GILL_CLIP_TOKENIZER");
}

static void
print_tokens (const GillTokenizer *tok,
              const GArray        *ids,
              const gchar         *name)
{
  printf ("# %s: %u tokens (position, id, token)\n", name, ids->len);
  for (guint i = 0; i < ids->len; i++)
    {
      gint32 id = g_array_index (ids, gint32, i);
      const gchar *s = gill_tokenizer_id_to_token (tok, id);
      printf ("%u\t%d\t%s\n", i, id, s ? s : "");
    }
}

static gboolean
run (const TokenizeOptions *o,
     const gchar           *files,
     const gchar           *input,
     gsize                  len,
     GError               **error)
{
  gboolean opt = strcmp (o->tokenizer, "opt") == 0;
  GillTokenizerKind kind = !opt ? GILL_TOKENIZER_CLIP : o->plain ? GILL_TOKENIZER_OPT_PLAIN : GILL_TOKENIZER_OPT;
  g_autoptr (GillTokenizer) tok = gill_tokenizer_load (kind, files, error);
  if (tok == NULL)
    return FALSE;
  if (o->decode)
    {
      g_autoptr (GArray) ids = parse_ids (input, error);
      gsize n = 0;
      g_autofree gchar *text = ids ? gill_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len,
                                                            o->skip_special, &n, error)
                                   : NULL;
      if (text == NULL)
        return FALSE;
      fwrite (text, 1, n, stdout);
      fputc ('\n', stdout);
      return TRUE;
    }
  GillTokenizeFlags flags = (o->no_special ? GILL_TOKENIZE_NO_SPECIAL : 0) | (o->pad ? GILL_TOKENIZE_PAD : 0)
                            | (o->basic ? GILL_TOKENIZE_BASIC : 0);
  g_autoptr (GArray) ids = gill_tokenizer_encode (tok, input, (gssize) len, flags, error);
  if (ids == NULL)
    return FALSE;
  print_tokens (tok, ids, o->tokenizer);
  return TRUE;
}

int
gill_cmd_tokenize (int argc, char **argv)
{
  TokenizeOptions o = { 0 };
  const GOptionEntry entries[] = {
    { "tokenizer", 't', 0, G_OPTION_ARG_STRING, &o.tokenizer, "opt (GILL's language model) or clip (SD's text encoder)", "NAME" },
    { "files", 'f', 0, G_OPTION_ARG_FILENAME, &o.files,
      "tokenizer folder (vocab.json, merges.txt, ...) or CLIP's bpe_simple_vocab_16e6.txt.gz "
      "(default: $GILL_OPT_TOKENIZER or $GILL_CLIP_TOKENIZER)", "PATH" },
    { "decode", 'd', 0, G_OPTION_ARG_NONE, &o.decode, "TEXT is a list of ids: print the text they stand for", NULL },
    { "skip-special", 0, 0, G_OPTION_ARG_NONE, &o.skip_special, "with --decode: leave out special tokens", NULL },
    { "no-special", 0, 0, G_OPTION_ARG_NONE, &o.no_special, "encode without BOS (and EOS)", NULL },
    { "plain", 0, 0, G_OPTION_ARG_NONE, &o.plain, "opt: without GILL's <|image|> and [IMG0]..[IMG7]", NULL },
    { "pad", 0, 0, G_OPTION_ARG_NONE, &o.pad, "clip: truncate and pad to 77 ids as Stable Diffusion does", NULL },
    { "basic", 0, 0, G_OPTION_ARG_NONE, &o.basic, "clip: transformers' fallback without ftfy (BasicTokenizer)", NULL },
    { NULL }
  };
  int status = GILL_EXIT_OK;
  if (!gill_cli_parse ("tokenize", "TEXT|-",
                       "Tokenize TEXT (or standard input, with -) with GILL's OPT tokenizer or SD's\n"
                       "CLIP tokenizer and print position, id and token string per line; with\n"
                       "--decode, turn a list of ids back into text.",
                       entries, NULL, &argc, &argv))
    status = GILL_EXIT_USAGE;
  else if (o.tokenizer == NULL || (strcmp (o.tokenizer, "opt") != 0 && strcmp (o.tokenizer, "clip") != 0))
    {
      fprintf (stderr, "gill tokenize: --tokenizer must be opt or clip; run 'gill tokenize --help' for usage\n");
      status = GILL_EXIT_USAGE;
    }
  else if (argc != 2)
    {
      fprintf (stderr, "gill tokenize: give one TEXT (quote it) or - for standard input; "
               "run 'gill tokenize --help' for usage\n");
      status = GILL_EXIT_USAGE;
    }
  else if (files_for (&o) == NULL)
    {
      fprintf (stderr, "gill tokenize: no tokenizer files; pass --files PATH or set %s\n",
               strcmp (o.tokenizer, "opt") == 0 ? "GILL_OPT_TOKENIZER" : "GILL_CLIP_TOKENIZER");
      status = GILL_EXIT_USAGE;
    }
  else
    {
      g_autoptr (GError) error = NULL;
      gsize len = 0;
      g_autofree gchar *input = read_input (argv[1], &len, &error);
      gboolean ok = input != NULL
                    && run (&o, files_for (&o), input, len, &error);
      if (!ok)
        {
          gill_cli_print_error (error);
          status = GILL_EXIT_FAILURE;
        }
    }
  g_free (o.tokenizer);
  g_free (o.files);
  return status;
}
