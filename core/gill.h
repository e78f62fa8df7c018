/* gill.h — the public API of libgill: GILL (Koh, Fried, Salakhutdinov 2023) on the CPU.
 *
 * This is the only header the GIMP plug-in, the dialog and the CLI include. Usage:
 *
 *   #include <gill.h>
 *
 *   g_autoptr (GError) error = NULL;
 *   g_autofree gchar *text = gill_describe_path ("/models/opt-6.7b", &error);
 *   if (text == NULL)
 *     {
 *       g_printerr ("%s\n", error->message);   // "FILE: what went wrong; what to do"
 *       return 1;
 *     }
 *   g_print ("%s", text);                      // format, tensor count, bytes, each tensor
 *
 * Every fallible call takes a GError ** last and returns FALSE/NULL exactly when it set it; the
 * domain is GILL_ERROR with the codes below. Nothing in libgill aborts on bad input.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GILL_ERROR (gill_error_quark ())

typedef enum
{
  GILL_ERROR_FAILED,
  GILL_ERROR_IO,
  GILL_ERROR_FORMAT,
  GILL_ERROR_SHAPE,
  GILL_ERROR_UNSUPPORTED,
  GILL_ERROR_MODEL_MISSING,
  GILL_ERROR_OUT_OF_MEMORY,
  GILL_ERROR_CANCELLED,
  GILL_ERROR_INVALID_ARGUMENT,
} GillError;

GQuark       gill_error_quark    (void);
const gchar *gill_version        (void);

/**
 * gill_describe_path:
 * @path: a weight file (safetensors, PyTorch zip or pickle, npy) or a model folder (Hugging Face,
 *   diffusers, single-file SD checkpoint, GILL folder)
 *
 * Returns: (transfer full): a human-readable description — format, tensor count, total bytes,
 * config.json highlights and every tensor's name, dtype and shape sorted by name — or %NULL
 * with @error set.
 */
gchar       *gill_describe_path  (const gchar *path,
                                  GError     **error);

/* ------------------------------------------------------------------ configuration */

/* (transfer full) $GILL_CONFIG, else $XDG_CONFIG_HOME/gill/config.json (which need not exist) */
gchar         *gill_config_default_file   (void);
/**
 * gill_config_get_path:
 * @config_file: the JSON configuration (an object; data/README.md lists its keys)
 * @key: "models", "clip", "sd", ...
 *
 * The path a key names: "~/" is the home folder, a relative path is relative to the folder of
 * @config_file. A missing file, a missing key, null or "" is no error: %NULL is returned with
 * @error unset. A file that is not a JSON object or a key that is not a string is a FORMAT error
 * naming the file.
 *
 * Returns: (transfer full) (nullable): the path
 */
gchar         *gill_config_get_path       (const gchar *config_file,
                                           const gchar *key,
                                           GError     **error);
/* the first of @given (a flag or argument), the environment variable @env, and the
 * configuration's @key; none -> MODEL_MISSING saying how to name one (transfer full) */
gchar         *gill_config_find_path      (const gchar *given,
                                           const gchar *env,
                                           const gchar *config_file,
                                           const gchar *key,
                                           GError     **error);

/* ------------------------------------------------------------------ tokenizers */

typedef struct _GillTokenizer GillTokenizer;

typedef enum
{
  GILL_TOKENIZER_OPT,       /* GILL's: OPT's byte-level BPE plus <|image|> and [IMG0]..[IMG7] */
  GILL_TOKENIZER_OPT_PLAIN, /* OPT's files as they are, without GILL's nine tokens */
  GILL_TOKENIZER_CLIP,      /* Stable Diffusion's text encoder tokenizer (CLIP BPE, ftfy) */
} GillTokenizerKind;

typedef enum
{
  GILL_TOKENIZE_DEFAULT = 0,
  GILL_TOKENIZE_NO_SPECIAL = 1 << 0, /* no BOS (OPT) / no BOS and EOS (CLIP) */
  GILL_TOKENIZE_PAD = 1 << 1,        /* CLIP: truncate and pad to 77 ids as SD does */
  GILL_TOKENIZE_BASIC = 1 << 2,      /* CLIP: transformers' fallback without ftfy */
} GillTokenizeFlags;

/**
 * gill_tokenizer_load:
 * @path: a tokenizer folder (vocab.json, merges.txt, ...) or, for CLIP, OpenAI's
 *   bpe_simple_vocab_16e6.txt.gz
 *
 * Returns: (transfer full): the tokenizer, free with gill_tokenizer_free(), or %NULL with @error
 * set (MODEL_MISSING or FORMAT naming the file).
 */
GillTokenizer *gill_tokenizer_load        (GillTokenizerKind  kind,
                                           const gchar       *path,
                                           GError           **error);
void           gill_tokenizer_free        (GillTokenizer     *tokenizer);
/* (transfer full) the ids (gint32) of UTF-8 text (len -1: NUL-terminated); invalid UTF-8 is an
 * INVALID_ARGUMENT error naming the byte offset */
GArray        *gill_tokenizer_encode      (const GillTokenizer *tokenizer,
                                           const gchar         *text,
                                           gssize               len,
                                           GillTokenizeFlags    flags,
                                           GError             **error);
/* (transfer full) the text of ids; *len gets its byte length (it may hold U+0000) */
gchar         *gill_tokenizer_decode      (const GillTokenizer *tokenizer,
                                           const gint32        *ids,
                                           gsize                n_ids,
                                           gboolean             skip_special,
                                           gsize               *len,
                                           GError             **error);
/* (transfer none) the token string of an id in the byte-level alphabet, or NULL */
const gchar   *gill_tokenizer_id_to_token (const GillTokenizer *tokenizer,
                                           gint32               id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillTokenizer, gill_tokenizer_free)

/* ------------------------------------------------------------------ progress and cancel */

/**
 * GillProgressFunc:
 * @fraction: how much of the whole job is done, in [0, 1]
 * @stage: a short untranslated word ("encode", "denoise", "decode")
 * @user_data: the data given with the callback
 *
 * Long work (encoding, denoising, decoding) calls it between units of work. Returning %FALSE
 * asks the work to stop: the call returns promptly with GILL_ERROR_CANCELLED and writes nothing
 * to its output. A GIMP Cancel button, a CLI's Ctrl-C handler set a flag this returns.
 */
typedef gboolean (*GillProgressFunc) (double       fraction,
                                      const gchar *stage,
                                      gpointer     user_data);

/* ------------------------------------------------------------------ CLIP image embeddings */

typedef struct _GillClip GillClip;

/**
 * gill_clip_open:
 * @path: a CLIP folder (openai/clip-vit-large-patch14: config.json, preprocessor_config.json,
 *   model.safetensors or pytorch_model.bin; a CLIPVisionModel[WithProjection] save works too).
 *   The configured one is gill_config_find_path (NULL, "GILL_CLIP", config_file, "clip", &error).
 *
 * Reads the configs and maps the vision tower's weights.
 *
 * Returns: (transfer full): the model, free with gill_clip_free(), or %NULL with @error set
 * (MODEL_MISSING naming @path, FORMAT / SHAPE naming the file and tensor).
 */
GillClip      *gill_clip_open                (const gchar         *path,
                                              GError             **error);
void           gill_clip_free                (GillClip            *clip);
/* the width of pooler_output (hidden_size: 1024 for ViT-L/14) */
gint64         gill_clip_get_pooled_dim      (const GillClip      *clip);
/* the width of image_embeds (projection_dim: 768 for ViT-L/14), 0 when the checkpoint has no
 * visual_projection */
gint64         gill_clip_get_projection_dim  (const GillClip      *clip);
/**
 * gill_clip_embed_image_files:
 * @files: (array length=n_files): PNG or JPEG files
 * @batch: images per forward pass (1 to 256)
 * @pooled: (out caller-allocates) (nullable): [n_files, pooled_dim] pooler_output, the
 *   post-LayerNorm class token GILL's retrieval and captioning heads read
 * @embeds: (out caller-allocates) (nullable): [n_files, projection_dim] image_embeds, what
 *   CLIP compares with text; needs a projection
 *
 * Each file as GILL sees it: Image.open (file).convert ("RGB"), CLIPImageProcessor, the vision
 * tower. Vectors are not normalised.
 *
 * Returns: %FALSE with @error set when a file cannot be read (IO / FORMAT naming the file; the
 * outputs are then incomplete) or @embeds is given without a projection (INVALID_ARGUMENT).
 */
gboolean       gill_clip_embed_image_files   (GillClip            *clip,
                                              const gchar * const *files,
                                              gsize                n_files,
                                              gint                 batch,
                                              float               *pooled,
                                              float               *embeds,
                                              GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillClip, gill_clip_free)

/* ------------------------------------------------------------------ Stable Diffusion */

typedef struct _GillStableDiffusion GillStableDiffusion;

/* What a generation does; fill with gill_stable_diffusion_params_default() first, then set what
 * differs. Strings are borrowed for the call. */
typedef struct
{
  const gchar     *scheduler;       /* "pndm", "ddim", "euler", "euler-a", "dpmpp-2m"; NULL = the
                                     * model's scheduler_config (PNDM for SD 1.5) */
  gint             n_steps;         /* 50 */
  float            guidance_scale;  /* 7.5; <= 1 turns classifier-free guidance off */
  gint64           height, width;   /* pixels, multiples of 8; 0 = the model's (512) */
  guint64          seed;            /* torch.Generator seed of the initial noise: 0 */
  const gchar     *negative_prompt; /* "" */
  const gchar     *tokenizer_dir;   /* CLIP tokenizer folder; NULL = the model's tokenizer/, then
                                     * $GILL_CLIP_TOKENIZER (single files carry none) */
  GillProgressFunc progress;        /* over the whole run; may be NULL */
  gpointer         progress_data;
} GillStableDiffusionParams;

void                 gill_stable_diffusion_params_default           (GillStableDiffusionParams *params);
/**
 * gill_stable_diffusion_open:
 * @path: a diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/,
 *   scheduler/), a single .safetensors / .ckpt with CompVis names (its LDM yaml beside it), or a
 *   folder holding one. The configured one is gill_config_find_path (NULL, "GILL_SD",
 *   config_file, "sd", &error).
 * @use_ema: full single-file checkpoints: the EMA UNet (model_ema.*)
 * @variant: (nullable): diffusers folders: prefer the *.@variant.* files ("fp16")
 *
 * Reads the configs only: each generation maps a part's weights for its phase (text encoder,
 * UNet, VAE) and unmaps them after, so one model's pages are resident at a time.
 *
 * Returns: (transfer full): the model, free with gill_stable_diffusion_free(), or %NULL with
 * @error set (MODEL_MISSING naming @path, FORMAT naming the file).
 */
GillStableDiffusion *gill_stable_diffusion_open                     (const gchar  *path,
                                                                     gboolean      use_ema,
                                                                     const gchar  *variant,
                                                                     GError      **error);
void                 gill_stable_diffusion_free                     (GillStableDiffusion *sd);
/* the size a generation with @params makes: theirs, or the model's default */
void                 gill_stable_diffusion_get_image_size           (const GillStableDiffusion       *sd,
                                                                     const GillStableDiffusionParams *params,
                                                                     gint64                          *height,
                                                                     gint64                          *width);
/* the width of prompt embeddings (the UNet's cross_attention_dim: 768 for SD 1.x) */
gint64               gill_stable_diffusion_get_embedding_dim        (const GillStableDiffusion *sd);
/**
 * gill_stable_diffusion_generate_from_text:
 * @prompt: UTF-8 text, through the CLIP tokenizer (77 tokens) and the text encoder
 * @image: (out caller-allocates): [height, width, 3] RGB in [0, 1], the size
 *   gill_stable_diffusion_get_image_size() gives
 *
 * StableDiffusionPipeline (diffusers 0.17.1) with a seeded torch CPU generator: the same
 * params give the same image.
 *
 * Returns: %FALSE with @error set: INVALID_ARGUMENT (a size that is not a multiple of 8, a
 * step count out of range, invalid UTF-8), UNSUPPORTED (an unknown scheduler), CANCELLED (the
 * progress callback returned %FALSE), MODEL_MISSING / FORMAT / SHAPE (the files).
 */
gboolean             gill_stable_diffusion_generate_from_text       (GillStableDiffusion              *sd,
                                                                     const GillStableDiffusionParams  *params,
                                                                     const gchar                      *prompt,
                                                                     float                            *image,
                                                                     GError                          **error);
/**
 * gill_stable_diffusion_generate_from_embeddings:
 * @prompt_embeds: [n_ctx, embedding_dim] in place of the encoded prompt (GILL's mapper output);
 *   the negative prompt still goes through the text encoder, padded to @n_ctx
 *
 * As gill_stable_diffusion_generate_from_text(), from prompt embeddings.
 */
gboolean             gill_stable_diffusion_generate_from_embeddings (GillStableDiffusion              *sd,
                                                                     const GillStableDiffusionParams  *params,
                                                                     const float                      *prompt_embeds,
                                                                     gint64                            n_ctx,
                                                                     float                            *image,
                                                                     GError                          **error);
/* [n_values] in [0, 1] -> bytes as diffusers' numpy_to_pil: round (x · 255), half to even */
void                 gill_stable_diffusion_image_to_rgb8            (const float *image,
                                                                     gsize        n_values,
                                                                     guint8      *rgb);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillStableDiffusion, gill_stable_diffusion_free)

G_END_DECLS
