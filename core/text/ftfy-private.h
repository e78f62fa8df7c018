/* ftfy-private.h — what ftfy.c, ftfy-heuristics.c and the generated ftfy-tables.c share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the single-byte encodings ftfy tries after Latin-1, in its order (Latin-1 itself needs no
 * table: byte b is U+00b) */
enum
{
  FTFY_SLOPPY_WINDOWS_1252,
  FTFY_SLOPPY_WINDOWS_1251,
  FTFY_SLOPPY_WINDOWS_1250,
  FTFY_SLOPPY_WINDOWS_1253,
  FTFY_SLOPPY_WINDOWS_1254,
  FTFY_ISO_8859_2,
  FTFY_MACROMAN,
  FTFY_CP437,
  FTFY_N_CHARMAPS,
};

/* classes of ftfy's UTF8_DETECTOR_RE */
enum
{
  FTFY_CLUE_FIRST_OF_2 = 1 << 0,
  FTFY_CLUE_FIRST_OF_3 = 1 << 1,
  FTFY_CLUE_FIRST_OF_4 = 1 << 2,
  FTFY_CLUE_CONTINUATION = 1 << 3,
  FTFY_CLUE_CONTINUATION_STRICT = 1 << 4,
};

typedef struct
{
  const gchar *name;     /* "&amp;" */
  const gchar *value;    /* UTF-8 */
} FtfyEntity;

typedef struct
{
  gunichar c;
  guint8 byte;
} FtfyCharByte;

typedef struct
{
  gunichar c;
  guint8 classes;
} FtfyClue;

/* ftfy-tables.c (generated) */
extern const gunichar ftfy_charmap_high[FTFY_N_CHARMAPS][128];     /* byte 0x80 + i -> char */
extern const FtfyCharByte ftfy_charmap_reverse[FTFY_N_CHARMAPS][128]; /* sorted by char */
extern const FtfyClue ftfy_utf8_clues[];                            /* sorted by char */
extern const gsize ftfy_n_utf8_clues;
extern const FtfyEntity ftfy_html_entities[];                       /* sorted by name (bytes) */
extern const gsize ftfy_n_html_entities;

/* ftfy-heuristics.c */
/* badness.is_bad: does the text hold a character sequence that is far more likely mojibake
 * than intended text */
gboolean ftfy_is_bad             (const gunichar *s,
                                  gsize           n);
/* the UTF8_DETECTOR_RE classes of c */
guint    ftfy_utf8_clue          (gunichar        c);
/* the next match of UTF8_DETECTOR_RE in s at or after `from`: [*start, *end) */
gboolean ftfy_utf8_detector_find (const gunichar *s,
                                  gsize           n,
                                  gsize           from,
                                  gsize          *start,
                                  gsize          *end);

G_END_DECLS
