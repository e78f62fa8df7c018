/* ftfy.h — python-ftfy 6.1.1's fix_text with its default configuration, the text clean-up
 * transformers' CLIPTokenizer runs before BPE when ftfy is installed (models.md §2.6).
 *
 * Implemented, in ftfy's order, repeated until nothing changes, line by line:
 *   unescape_html ("auto": only while no '<' has been seen), fix_encoding (mojibake: the
 *   badness heuristic, re-encoding in Latin-1, sloppy windows-1252/-1251/-1250/-1253/-1254,
 *   ISO-8859-2, MacRoman and cp437 and decoding as UTF-8 or its CESU-8/Java variants, with
 *   restore_byte_a0, replace_lossy_sequences, decode_inconsistent_utf8, the Latin-1 ->
 *   windows-1252 and fix_c1_controls fallbacks), fix_c1_controls, fix_latin_ligatures,
 *   fix_character_width, uncurl_quotes, fix_line_breaks, remove_terminal_escapes,
 *   remove_control_chars, NFC.
 * Not implemented: fix_surrogates (UTF-8 input cannot hold surrogates, so it never applies), the
 * optional fixers that are off by default (decode_escapes, NFKC, ...), explanations. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* text: well-formed UTF-8 (U+0000 allowed); returns the fixed UTF-8 (transfer full), its length
 * in *out_len */
gchar *gill_ftfy_fix_text (const gchar *text,
                           gsize        len,
                           gsize       *out_len);

G_END_DECLS
