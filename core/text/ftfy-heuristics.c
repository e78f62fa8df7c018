/* ftfy-heuristics.c — ftfy 6.1's mojibake detectors, written as direct matchers instead of
 * regular expressions (each is a fixed-length look at the characters from one position, so a
 * whole text costs one linear scan):
 *
 *   - ftfy_is_bad: badness.is_bad, a search for BADNESS_RE — sequences of the few hundred
 *     characters UTF-8 mojibake is made of (accented Latin letters, C1 controls, currency, box
 *     drawing, curly punctuation, ...) in orders that intended text almost never has;
 *   - ftfy_utf8_detector_find: chardata.UTF8_DETECTOR_RE, runs of characters that each look
 *     like the start of a UTF-8 sequence followed by the right number of continuation bytes,
 *     as read in a Latin-1-like encoding.
 *
 * Reference: python-ftfy 6.1 ftfy/badness.py (MOJIBAKE_CATEGORIES, BADNESS_RE) and
 * ftfy/chardata.py (UTF8_CLUES, UTF8_DETECTOR_RE). The character categories below restate
 * badness.py's; ftfy_utf8_clues (generated) derives UTF8_CLUES from the encodings. */
#include "core/text/ftfy-private.h"

#include "core/text/unicode.h"

/* MOJIBAKE_CATEGORIES as bits */
enum
{
  CAT_COMMON = 1 << 0,
  CAT_C1 = 1 << 1,
  CAT_BAD = 1 << 2,
  CAT_CURRENCY = 1 << 3,
  CAT_START = 1 << 4,          /* start_punctuation */
  CAT_END = 1 << 5,            /* end_punctuation */
  CAT_NUMERIC = 1 << 6,
  CAT_KAOMOJI = 1 << 7,
  CAT_UPPER_ACCENTED = 1 << 8,
  CAT_LOWER_ACCENTED = 1 << 9,
  CAT_UPPER_COMMON = 1 << 10,
  CAT_LOWER_COMMON = 1 << 11,
  CAT_BOX = 1 << 12,
};

typedef struct
{
  gunichar lo, hi;
  guint16 cats;
} CatRange;

/* sorted, non-overlapping; a character in several categories has all their bits */
static const CatRange categories[] = {
  { 0x0080, 0x009f, CAT_C1 },
  { 0x00a0, 0x00a0, CAT_COMMON },                        /* NO-BREAK SPACE */
  { 0x00a1, 0x00a1, CAT_START },                         /* ¡ */
  { 0x00a2, 0x00a3, CAT_CURRENCY },                      /* ¢ £ */
  { 0x00a4, 0x00a4, CAT_BAD },                           /* ¤ */
  { 0x00a5, 0x00a5, CAT_CURRENCY },                      /* ¥ */
  { 0x00a6, 0x00a8, CAT_BAD },                           /* ¦ § ¨ */
  { 0x00a9, 0x00a9, CAT_START },                         /* © */
  { 0x00aa, 0x00aa, CAT_BAD },                           /* ª */
  { 0x00ab, 0x00ab, CAT_START },                         /* « */
  { 0x00ac, 0x00ac, CAT_BAD },                           /* ¬ */
  { 0x00ad, 0x00ad, CAT_COMMON },                        /* SOFT HYPHEN */
  { 0x00ae, 0x00ae, CAT_END },                           /* ® */
  { 0x00af, 0x00af, CAT_BAD },                           /* ¯ */
  { 0x00b0, 0x00b0, CAT_KAOMOJI },                       /* ° */
  { 0x00b1, 0x00b3, CAT_NUMERIC },                       /* ± ² ³ */
  { 0x00b4, 0x00b4, CAT_COMMON },                        /* ´ */
  { 0x00b5, 0x00b5, CAT_NUMERIC },                       /* µ */
  { 0x00b6, 0x00b6, CAT_BAD },                           /* ¶ */
  { 0x00b7, 0x00b7, CAT_COMMON },                        /* · */
  { 0x00b8, 0x00b8, CAT_BAD },                           /* ¸ */
  { 0x00b9, 0x00b9, CAT_NUMERIC },                       /* ¹ */
  { 0x00ba, 0x00ba, CAT_BAD },                           /* º */
  { 0x00bb, 0x00bb, CAT_END },                           /* » */
  { 0x00bc, 0x00be, CAT_NUMERIC },                       /* ¼ ½ ¾ */
  { 0x00bf, 0x00bf, CAT_START },                         /* ¿ */
  { 0x00c0, 0x00d1, CAT_UPPER_ACCENTED },                /* À..Ñ */
  { 0x00d2, 0x00d6, CAT_KAOMOJI },                       /* Ò..Ö */
  { 0x00d7, 0x00d7, CAT_NUMERIC },                       /* × */
  { 0x00d8, 0x00d8, CAT_UPPER_ACCENTED },                /* Ø */
  { 0x00d9, 0x00db, CAT_KAOMOJI },                       /* Ù Ú Û */
  { 0x00dc, 0x00dc, CAT_KAOMOJI | CAT_UPPER_ACCENTED },  /* Ü */
  { 0x00dd, 0x00dd, CAT_UPPER_ACCENTED },                /* Ý */
  { 0x00de, 0x00de, CAT_UPPER_COMMON },                  /* Þ */
  { 0x00df, 0x00f1, CAT_LOWER_ACCENTED },                /* ß à..ñ */
  { 0x00f2, 0x00f6, CAT_KAOMOJI },                       /* ò..ö */
  { 0x00f7, 0x00f7, CAT_NUMERIC },                       /* ÷ */
  { 0x00f8, 0x00fb, CAT_KAOMOJI },                       /* ø..û */
  { 0x00fc, 0x00fc, CAT_KAOMOJI | CAT_LOWER_ACCENTED },  /* ü */
  { 0x0102, 0x0102, CAT_UPPER_ACCENTED }, { 0x0103, 0x0103, CAT_LOWER_ACCENTED },   /* Ă ă */
  { 0x0104, 0x0104, CAT_UPPER_ACCENTED }, { 0x0105, 0x0105, CAT_LOWER_ACCENTED },   /* Ą ą */
  { 0x0106, 0x0106, CAT_UPPER_ACCENTED }, { 0x0107, 0x0107, CAT_LOWER_ACCENTED },   /* Ć ć */
  { 0x010c, 0x010c, CAT_UPPER_ACCENTED }, { 0x010d, 0x010d, CAT_LOWER_ACCENTED },   /* Č č */
  { 0x010e, 0x010e, CAT_UPPER_ACCENTED }, { 0x010f, 0x010f, CAT_LOWER_ACCENTED },   /* Ď ď */
  { 0x0110, 0x0110, CAT_UPPER_ACCENTED }, { 0x0111, 0x0111, CAT_LOWER_ACCENTED },   /* Đ đ */
  { 0x0118, 0x0118, CAT_UPPER_ACCENTED }, { 0x0119, 0x0119, CAT_LOWER_ACCENTED },   /* Ę ę */
  { 0x011a, 0x011a, CAT_UPPER_ACCENTED }, { 0x011b, 0x011b, CAT_LOWER_ACCENTED },   /* Ě ě */
  { 0x011e, 0x011e, CAT_UPPER_ACCENTED }, { 0x011f, 0x011f, CAT_LOWER_ACCENTED },   /* Ğ ğ */
  { 0x0130, 0x0130, CAT_UPPER_ACCENTED },                                           /* İ */
  { 0x0139, 0x0139, CAT_UPPER_ACCENTED }, { 0x013a, 0x013a, CAT_LOWER_ACCENTED },   /* Ĺ ĺ */
  { 0x013d, 0x013d, CAT_UPPER_ACCENTED }, { 0x013e, 0x013e, CAT_LOWER_ACCENTED },   /* Ľ ľ */
  { 0x0141, 0x0141, CAT_UPPER_ACCENTED }, { 0x0142, 0x0142, CAT_LOWER_ACCENTED },   /* Ł ł */
  { 0x0143, 0x0143, CAT_UPPER_ACCENTED },                                           /* Ń */
  { 0x0147, 0x0147, CAT_UPPER_ACCENTED },                                           /* Ň */
  { 0x0150, 0x0150, CAT_KAOMOJI },                                                  /* Ő */
  { 0x0152, 0x0152, CAT_UPPER_ACCENTED }, { 0x0153, 0x0153, CAT_LOWER_ACCENTED },   /* Œ œ */
  { 0x0155, 0x0155, CAT_LOWER_ACCENTED },                                           /* ŕ */
  { 0x0158, 0x0158, CAT_UPPER_ACCENTED },                                           /* Ř */
  { 0x015a, 0x015a, CAT_UPPER_ACCENTED }, { 0x015b, 0x015b, CAT_LOWER_ACCENTED },   /* Ś ś */
  { 0x015e, 0x015e, CAT_UPPER_ACCENTED }, { 0x015f, 0x015f, CAT_LOWER_ACCENTED },   /* Ş ş */
  { 0x0160, 0x0160, CAT_UPPER_ACCENTED }, { 0x0161, 0x0161, CAT_LOWER_ACCENTED },   /* Š š */
  { 0x0162, 0x0162, CAT_UPPER_ACCENTED },                                           /* Ţ */
  { 0x0164, 0x0164, CAT_UPPER_ACCENTED }, { 0x0165, 0x0165, CAT_LOWER_ACCENTED },   /* Ť ť */
  { 0x016e, 0x016e, CAT_UPPER_ACCENTED },                                           /* Ů */
  { 0x0170, 0x0170, CAT_UPPER_ACCENTED },                                           /* Ű */
  { 0x0178, 0x0179, CAT_UPPER_ACCENTED }, { 0x017a, 0x017a, CAT_LOWER_ACCENTED },   /* Ÿ Ź ź */
  { 0x017b, 0x017b, CAT_UPPER_ACCENTED }, { 0x017c, 0x017c, CAT_LOWER_ACCENTED },   /* Ż ż */
  { 0x017d, 0x017d, CAT_UPPER_ACCENTED }, { 0x017e, 0x017e, CAT_LOWER_ACCENTED },   /* Ž ž */
  { 0x0192, 0x0192, CAT_BAD },                                                      /* ƒ */
  { 0x02c6, 0x02c7, CAT_BAD },                                                      /* ˆ ˇ */
  { 0x02d8, 0x02d8, CAT_BAD },                                                      /* ˘ */
  { 0x02db, 0x02dc, CAT_BAD },                                                      /* ˛ ˜ */
  { 0x02dd, 0x02dd, CAT_END },                                                      /* ˝ */
  { 0x0384, 0x0385, CAT_START },                                                    /* ΄ ΅ */
  { 0x0386, 0x0386, CAT_UPPER_COMMON },                                             /* Ά */
  { 0x0388, 0x038a, CAT_UPPER_COMMON },                                             /* Έ Ή Ί */
  { 0x038c, 0x038c, CAT_UPPER_COMMON },                                             /* Ό */
  { 0x038e, 0x038f, CAT_UPPER_COMMON },                                             /* Ύ Ώ */
  { 0x0391, 0x03ab, CAT_UPPER_COMMON },                                             /* Α..Ω Ϊ Ϋ */
  { 0x03ac, 0x03c9, CAT_LOWER_COMMON },                                             /* ά..ω */
  { 0x0401, 0x042f, CAT_UPPER_COMMON },                                             /* Ё..Я */
  { 0x0430, 0x045f, CAT_LOWER_COMMON },                                             /* а..џ */
  { 0x0490, 0x0490, CAT_UPPER_ACCENTED }, { 0x0491, 0x0491, CAT_LOWER_ACCENTED },   /* Ґ ґ */
  { 0x2013, 0x2015, CAT_COMMON },                                                   /* – — ― */
  { 0x2018, 0x2018, CAT_START },                                                    /* ‘ */
  { 0x2019, 0x2019, CAT_COMMON },                                                   /* ’ */
  { 0x201a, 0x201a, CAT_START },                                                    /* ‚ */
  { 0x201c, 0x201c, CAT_START },                                                    /* “ */
  { 0x201d, 0x201d, CAT_END },                                                      /* ” */
  { 0x201e, 0x201e, CAT_START },                                                    /* „ */
  { 0x2020, 0x2021, CAT_BAD },                                                      /* † ‡ */
  { 0x2022, 0x2022, CAT_START },                                                    /* • */
  { 0x2026, 0x2026, CAT_COMMON },                                                   /* … */
  { 0x2030, 0x2030, CAT_BAD },                                                      /* ‰ */
  { 0x2039, 0x2039, CAT_START },                                                    /* ‹ */
  { 0x203a, 0x203a, CAT_END },                                                      /* › */
  { 0x2044, 0x2044, CAT_NUMERIC },                                                  /* ⁄ */
  { 0x20a7, 0x20a7, CAT_CURRENCY },                                                 /* ₧ */
  { 0x20ac, 0x20ac, CAT_CURRENCY },                                                 /* € */
  { 0x2116, 0x2116, CAT_NUMERIC },                                                  /* № */
  { 0x2122, 0x2122, CAT_END },                                                      /* ™ */
  { 0x2202, 0x2202, CAT_NUMERIC }, { 0x2206, 0x2206, CAT_NUMERIC },                 /* ∂ ∆ */
  { 0x220f, 0x220f, CAT_NUMERIC }, { 0x2211, 0x2211, CAT_NUMERIC },                 /* ∏ ∑ */
  { 0x221a, 0x221a, CAT_NUMERIC }, { 0x221e, 0x221e, CAT_NUMERIC },                 /* √ ∞ */
  { 0x2229, 0x2229, CAT_NUMERIC }, { 0x222b, 0x222b, CAT_NUMERIC },                 /* ∩ ∫ */
  { 0x2248, 0x2248, CAT_NUMERIC }, { 0x2260, 0x2261, CAT_NUMERIC },                 /* ≈ ≠ ≡ */
  { 0x2264, 0x2265, CAT_NUMERIC },                                                  /* ≤ ≥ */
  { 0x2310, 0x2310, CAT_BAD },                                                      /* ⌐ */
  { 0x2502, 0x2502, CAT_BOX }, { 0x250c, 0x250c, CAT_BOX }, { 0x2510, 0x2510, CAT_BOX },
  { 0x2518, 0x2518, CAT_BOX }, { 0x251c, 0x251c, CAT_BOX }, { 0x2524, 0x2524, CAT_BOX },
  { 0x252c, 0x252c, CAT_BOX }, { 0x253c, 0x253c, CAT_BOX }, { 0x2550, 0x256c, CAT_BOX },
  { 0x2580, 0x2580, CAT_BOX }, { 0x2584, 0x2584, CAT_BOX }, { 0x2588, 0x2588, CAT_BOX },
  { 0x258c, 0x258c, CAT_BOX }, { 0x2590, 0x2593, CAT_BOX },
  { 0x25ca, 0x25ca, CAT_BAD },                                                      /* ◊ */
  { 0xf8ff, 0xf8ff, CAT_START },                                                    /* Apple logo */
  { 0xfb01, 0xfb02, CAT_LOWER_ACCENTED },                                           /* ﬁ ﬂ */
  { 0xfffd, 0xfffd, CAT_BAD },                                                      /* � */
};

static guint
cat (gunichar c)
{
  if (c < 0x80 || c > 0xfffd)
    return 0;
  gsize lo = 0, hi = G_N_ELEMENTS (categories);
  while (lo < hi)
    {
      gsize mid = (lo + hi) / 2;
      if (c > categories[mid].hi)
        lo = mid + 1;
      else if (c < categories[mid].lo)
        hi = mid;
      else
        return categories[mid].cats;
    }
  return 0;
}

static gboolean
in_list (gunichar        c,
         const gunichar *list,
         gsize           n)
{
  for (gsize i = 0; i < n; i++)
    if (list[i] == c)
      return TRUE;
  return FALSE;
}

#define IN(c, ...) in_list ((c), (const gunichar[]) { __VA_ARGS__ }, \
                            sizeof ((const gunichar[]) { __VA_ARGS__ }) / sizeof (gunichar))

static inline gboolean
ascii_lower (gunichar c)
{
  return c >= 'a' && c <= 'z';
}

static inline gboolean
ascii_letter (gunichar c)
{
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* the groups of characters the fixed sequences below use */
#define ACCENTED (CAT_LOWER_ACCENTED | CAT_UPPER_ACCENTED)
#define MOJIBAKE_ANY (CAT_BAD | ACCENTED | CAT_BOX | CAT_START | CAT_END | CAT_CURRENCY | CAT_NUMERIC)
#define ARABIC_FOLLOW (CAT_COMMON | CAT_CURRENCY | CAT_BAD | CAT_NUMERIC | CAT_START)
#define CYRILLIC_GREEK_MIDDLE (CAT_C1 | CAT_BAD | CAT_START | CAT_END | CAT_CURRENCY)

/* does one of BADNESS_RE's alternatives match at s[i]? (cats[j] holds cat (s[j])) */
static gboolean
bad_at (const gunichar *s,
        const guint16  *cats,
        gsize           n,
        gsize           i)
{
  gunichar c0 = s[i];
  gunichar c1 = i + 1 < n ? s[i + 1] : 0;
  gunichar c2 = i + 2 < n ? s[i + 2] : 0;
  gunichar c3 = i + 3 < n ? s[i + 3] : 0;
  gboolean has1 = i + 1 < n, has2 = i + 2 < n, has3 = i + 3 < n;
  guint k0 = cats[i], k1 = has1 ? cats[i + 1] : 0, k2 = has2 ? cats[i + 2] : 0;
  guint k3 = has3 ? cats[i + 3] : 0;

  if (k0 & CAT_C1)
    return TRUE;
  if (has1)
    {
      if ((k0 & MOJIBAKE_ANY) && (k1 & CAT_BAD))
        return TRUE;
      if ((k0 & CAT_BAD) && (k1 & MOJIBAKE_ANY))
        return TRUE;
      if ((k0 & (CAT_LOWER_ACCENTED | CAT_LOWER_COMMON | CAT_BOX | CAT_END | CAT_CURRENCY | CAT_NUMERIC))
          && (k1 & CAT_UPPER_ACCENTED))
        return TRUE;
      if ((k0 & (CAT_BOX | CAT_END | CAT_CURRENCY | CAT_NUMERIC)) && (k1 & CAT_LOWER_ACCENTED))
        return TRUE;
      if ((k0 & (CAT_LOWER_ACCENTED | CAT_BOX | CAT_END)) && (k1 & CAT_CURRENCY))
        return TRUE;
      if ((k0 & (CAT_UPPER_ACCENTED | CAT_BOX)) && (k1 & CAT_NUMERIC))
        return TRUE;
      if ((k0 & (CAT_CURRENCY | CAT_NUMERIC | CAT_BOX)) && (k1 & CAT_START))
        return TRUE;
      if ((k0 & CAT_BOX) && (k1 & (CAT_KAOMOJI | CAT_END)))
        return TRUE;
      if ((k0 & (ACCENTED | CAT_CURRENCY | CAT_NUMERIC | CAT_START | CAT_END)) && (k1 & CAT_BOX))
        return TRUE;
      /* the ligature œ when not followed by an unaccented Latin letter */
      if ((c0 == 0x0152 || c0 == 0x0153) && !ascii_letter (c1))
        return TRUE;
      /* common Windows-1252 two-character mojibake */
      if (IN (c0, 0xc2, 0xc3, 0xce, 0xd0)        /* Â Ã Î Ð */
          && (IN (c1, 0x20ac, 0x0160, 0x0161, 0xa2, 0xa3, 0x0178, 0x017e, 0xa0, 0xad, 0xae, 0xa9,
                  0xb0, 0xb7, 0xbb, 0x2013, 0x2014, 0xb4)
              || (k1 & (CAT_START | CAT_END))))
        return TRUE;
      if (c0 == 0x00d7 && (c1 == 0x00b2 || c1 == 0x00b3))      /* × [²³] */
        return TRUE;
      /* Windows-1252 starts of South Asian scripts */
      if (c0 == 0x00e0 && IN (c1, 0xb2, 0xb5, 0xb9, 0xbc, 0xbd, 0xbe))
        return TRUE;
      /* MacRoman mojibake */
      if (c0 == 0x221a
          && IN (c1, 0xb1, 0x2202, 0x2020, 0x2260, 0xae, 0x2122, 0xb4, 0x2264, 0x2265, 0xa5, 0xb5, 0xf8))
        return TRUE;
      if (c0 == 0x2248 && (c1 == 0x00b0 || c1 == 0x00a2))
        return TRUE;
      if (c0 == 0x0432 && c1 == 0x0402)                        /* вЂ: Windows-1251 of U+20xx */
        return TRUE;
      if (c0 == 0x00c3 && (c1 == 0x00a0 || c1 == 0x00a1))      /* Windows-1252 à and á */
        return TRUE;
      if (i == 0 && (c0 == 0x00c3 || c0 == 0x00c2) && c1 == ' ')
        return TRUE;
    }
  if (has2)
    {
      if (gill_unicode_is_python_space (c0) && (k1 & CAT_UPPER_ACCENTED) && (k2 & CAT_CURRENCY))
        return TRUE;
      if ((k0 & (ACCENTED | CAT_BOX | CAT_CURRENCY | CAT_END)) && (k1 & CAT_START) && (k2 & CAT_NUMERIC))
        return TRUE;
      if ((k0 & (ACCENTED | CAT_CURRENCY | CAT_NUMERIC | CAT_BOX)) && (k1 & CAT_END) && (k2 & CAT_START))
        return TRUE;
      if (ascii_letter (c0) && (k1 & (CAT_LOWER_COMMON | CAT_UPPER_COMMON)) && (k2 & CAT_BAD))
        return TRUE;
      if (ascii_lower (c0) && (k1 & CAT_UPPER_ACCENTED) && (k2 & (CAT_START | CAT_CURRENCY)))
        return TRUE;
      if ((k0 & ACCENTED) && (k1 & CAT_END) && (c2 == '_' || gill_unicode_is_python_alnum (c2)))
        return TRUE;
      if (c0 == 0x201a && c1 == 0x00c4
          && IN (c2, 0xec, 0xee, 0xef, 0xf2, 0xf4, 0xfa, 0xf9, 0xfb, 0x2020, 0xb0, 0xa2, 0x03c0))
        return TRUE;
      if (c0 == 0x201a && (c1 == 0x00e2 || c1 == 0x00f3) && IN (c2, 0xe0, 0xe4, 0xb0, 0xea))
        return TRUE;
      if (IN (c0, 0x0412, 0x0413, 0x0420, 0x0421)          /* В Г Р С */
          && ((k1 & CYRILLIC_GREEK_MIDDLE) || c1 == 0x00b0 || c1 == 0x00b5)
          && IN (c2, 0x0412, 0x0413, 0x0420, 0x0421))
        return TRUE;
      if (ascii_lower (c0) && (c1 == 0x00c3 || c1 == 0x00c2) && c2 == ' ')
        return TRUE;
      if ((ascii_lower (c0) || c0 == '.' || c0 == ',' || c0 == '?' || c0 == '!' || (k0 & CAT_END))
          && c1 == 0x00c2 && (c2 == ' ' || (k2 & (CAT_START | CAT_END))))
        return TRUE;
      /* Windows-1253 of U+20xx */
      if (c0 == 0x03b2 && c1 == 0x20ac && IN (c2, 0x2122, 0xa0, 0x0386, 0xad, 0xae, 0xb0))
        return TRUE;
      if (IN (c0, 0x0392, 0x0393, 0x039e, 0x039f)          /* Β Γ Ξ Ο */
          && ((k1 & CYRILLIC_GREEK_MIDDLE) || c1 == 0x00b0) && IN (c2, 0x0392, 0x0393, 0x039e, 0x039f))
        return TRUE;
    }
  if (has3)
    {
      if (ascii_lower (c0) && gill_unicode_is_python_space (c1) && (c2 == 0x00c3 || c2 == 0x00c2)
          && c3 == ' ')
        return TRUE;
      /* Windows-1252 of Arabic: four characters */
      if ((c0 == 0x00d8 || c0 == 0x00d9)
          && ((k1 & ARABIC_FOLLOW) || IN (c1, 0x0178, 0x0160, 0xae, 0xb0, 0xb5, 0xbb))
          && (c2 == 0x00d8 || c2 == 0x00d9)
          && ((k3 & ARABIC_FOLLOW) || IN (c3, 0x0178, 0x0160, 0xae, 0xb0, 0xb5, 0xbb)))
        return TRUE;
    }
  /* ГўВЂВ.[A-Za-z ]: Windows-1251 over Latin-1 mojibake of Windows-1252 punctuation */
  if (i + 6 < n && c0 == 0x0413 && c1 == 0x045e && c2 == 0x0412 && c3 == 0x0402 && s[i + 4] == 0x0412
      && s[i + 5] != '\n' && (ascii_letter (s[i + 6]) || s[i + 6] == ' '))
    return TRUE;
  return FALSE;
}

/* every alternative has a categorised character among its first three (the ones that start
 * with an ASCII letter, space or punctuation continue with one), so only those positions are
 * looked at */
gboolean
ftfy_is_bad (const gunichar *s,
             gsize           n)
{
  g_autofree guint16 *cats = g_new (guint16, n + 1);
  gboolean any = FALSE;
  for (gsize i = 0; i < n; i++)
    {
      cats[i] = (guint16) cat (s[i]);
      any |= cats[i] != 0;
    }
  if (!any)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if ((cats[i] || (i + 1 < n && cats[i + 1]) || (i + 2 < n && cats[i + 2])) && bad_at (s, cats, n, i))
      return TRUE;
  return FALSE;
}

guint
ftfy_utf8_clue (gunichar c)
{
  if (c < 0x80)
    return c == ' ' ? FTFY_CLUE_CONTINUATION : 0;
  gsize lo = 0, hi = ftfy_n_utf8_clues;
  while (lo < hi)
    {
      gsize mid = (lo + hi) / 2;
      if (ftfy_utf8_clues[mid].c < c)
        lo = mid + 1;
      else if (ftfy_utf8_clues[mid].c > c)
        hi = mid;
      else
        return ftfy_utf8_clues[mid].classes;
    }
  return 0;
}

/* one repetition of the detector's group at s[i]: its length, or 0 */
static gsize
detector_unit (const gunichar *s,
               gsize           n,
               gsize           i)
{
  guint first = ftfy_utf8_clue (s[i]);
  static const guint kinds[3] = { FTFY_CLUE_FIRST_OF_2, FTFY_CLUE_FIRST_OF_3, FTFY_CLUE_FIRST_OF_4 };
  for (guint k = 0; k < 3; k++)
    {
      if (!(first & kinds[k]))
        continue;
      gsize need = k + 1, j;          /* continuation characters after the first */
      for (j = 1; j <= need; j++)
        if (i + j >= n || !(ftfy_utf8_clue (s[i + j]) & FTFY_CLUE_CONTINUATION))
          break;
      if (j > need)
        return need + 1;
    }
  return 0;
}

gboolean
ftfy_utf8_detector_find (const gunichar *s,
                         gsize           n,
                         gsize           from,
                         gsize          *start,
                         gsize          *end)
{
  for (gsize i = from; i < n; i++)
    {
      if (s[i] < 0x80)
        continue;
      if (i > 0 && (ftfy_utf8_clue (s[i - 1]) & FTFY_CLUE_CONTINUATION_STRICT))
        continue;
      gsize j = i, k;
      while (j < n && (k = detector_unit (s, n, j)) > 0)
        j += k;
      if (j > i)
        {
          *start = i;
          *end = j;
          return TRUE;
        }
    }
  return FALSE;
}
