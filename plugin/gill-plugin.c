/* gill-plugin.c — the GIMP 3 plug-in: GILL procedures on top of libgill.
 *
 * One GimpPlugIn subclass registers the procedures; each procedure declares its arguments once in
 * create_procedure, and the same GimpProcedureConfig feeds Script-Fu, "repeat last" and the
 * generated dialog.  The plug-in only calls the public API of core/gill.h.
 *
 * Procedures:
 *   plug-in-gill-model-info  describe a model folder; the image is not touched.
 *
 * Script-Fu (v3 dialect):
 *   (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img #:models "/models/opt-6.7b")
 *   → "…description…"
 */
#include <glib/gi18n.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "core/gill.h"
#include "plugin/gill-plugin-config.h"

#define PLUG_IN_PROC_MODEL_INFO "plug-in-gill-model-info"
#define PLUG_IN_BINARY          "gill"
#define PLUG_IN_ROLE            "gill-model-info"
#define PLUG_IN_AUTHOR          "The gill authors"
#define PLUG_IN_DATE            "2025"

#define GILL_TYPE_PLUG_IN (gill_plug_in_get_type ())
G_DECLARE_FINAL_TYPE (GillPlugIn, gill_plug_in, GILL, PLUG_IN, GimpPlugIn)

struct _GillPlugIn
{
  GimpPlugIn parent_instance;
};

static GList         *gill_plug_in_query_procedures (GimpPlugIn           *plug_in);
static GimpProcedure *gill_plug_in_create_procedure (GimpPlugIn           *plug_in,
                                                     const gchar          *name);
static gboolean       gill_plug_in_set_i18n         (GimpPlugIn           *plug_in,
                                                     const gchar          *procedure_name,
                                                     gchar               **gettext_domain,
                                                     gchar               **catalog_dir);

static GimpValueArray *model_info_run               (GimpProcedure        *procedure,
                                                     GimpRunMode           run_mode,
                                                     GimpImage            *image,
                                                     GimpDrawable        **drawables,
                                                     GimpProcedureConfig  *config,
                                                     gpointer              run_data);
static gboolean       model_info_dialog             (GimpProcedure        *procedure,
                                                     GimpProcedureConfig  *config);

G_DEFINE_TYPE (GillPlugIn, gill_plug_in, GIMP_TYPE_PLUG_IN)

GIMP_MAIN (GILL_TYPE_PLUG_IN)

static void
gill_plug_in_class_init (GillPlugInClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = gill_plug_in_query_procedures;
  plug_in_class->create_procedure = gill_plug_in_create_procedure;
  plug_in_class->set_i18n         = gill_plug_in_set_i18n;
}

static void
gill_plug_in_init (G_GNUC_UNUSED GillPlugIn *plug_in)
{
}

static GList *
gill_plug_in_query_procedures (G_GNUC_UNUSED GimpPlugIn *plug_in)
{
  return g_list_append (NULL, g_strdup (PLUG_IN_PROC_MODEL_INFO));
}

/* Catalogs live in <plug-in folder>/locale/<lang>/LC_MESSAGES/gill.mo (po/meson.build installs
 * them there); say so explicitly rather than relying on the folder name. */
static gboolean
gill_plug_in_set_i18n (G_GNUC_UNUSED GimpPlugIn   *plug_in,
                       G_GNUC_UNUSED const gchar  *procedure_name,
                       gchar                     **gettext_domain,
                       gchar                     **catalog_dir)
{
  *gettext_domain = g_strdup (GETTEXT_PACKAGE);
  *catalog_dir    = g_strdup ("locale");

  return TRUE;
}

static GimpProcedure *
gill_plug_in_create_procedure (GimpPlugIn  *plug_in,
                               const gchar *name)
{
  GimpProcedure *procedure = NULL;

  if (g_strcmp0 (name, PLUG_IN_PROC_MODEL_INFO) == 0)
    {
      g_autofree gchar *menu_path = NULL;

      procedure = gimp_image_procedure_new (plug_in, name,
                                            GIMP_PDB_PROC_TYPE_PLUGIN,
                                            model_info_run, NULL, NULL);

      gimp_procedure_set_image_types (procedure, "*");
      gimp_procedure_set_sensitivity_mask (procedure,
                                           GIMP_PROCEDURE_SENSITIVE_DRAWABLE  |
                                           GIMP_PROCEDURE_SENSITIVE_DRAWABLES |
                                           GIMP_PROCEDURE_SENSITIVE_NO_DRAWABLES);

      gimp_procedure_set_menu_label (procedure, _("GILL _Model Info..."));
      /* Untranslated known part + our translated submenu, so the whole path localises. */
      menu_path = g_build_path ("/", "<Image>/Filters", _("Generative"), NULL);
      gimp_procedure_add_menu_path (procedure, menu_path);

      gimp_procedure_set_documentation (procedure,
                                        _("Describe a GILL model folder"),
                                        _("Lists what a model folder holds: its layout, the "
                                          "number of tensors, their total size, the highlights "
                                          "of config.json and every tensor with its type and "
                                          "shape. When no folder is given, the GILL_MODELS "
                                          "environment variable is used, then the \"models\" "
                                          "entry of ~/.config/gill/config.json. The image is "
                                          "not changed."),
                                        name);
      gimp_procedure_set_attribution (procedure, PLUG_IN_AUTHOR, PLUG_IN_AUTHOR, PLUG_IN_DATE);

      gimp_procedure_add_file_argument (procedure, "models",
                                        _("Model _folder"),
                                        _("Model folder to describe; when unset, "
                                          "GILL_MODELS or config.json decides"),
                                        GIMP_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                        TRUE, NULL,
                                        G_PARAM_READWRITE);

      gimp_procedure_add_string_return_value (procedure, "info",
                                              _("Info"),
                                              _("Description of the model: layout, tensor "
                                                "count, size and every tensor"),
                                              NULL,
                                              G_PARAM_READWRITE);
    }

  return procedure;
}

/* The "models" argument as a path, or %NULL when unset.  Script-Fu's "" arrives as a GFile whose
 * path is %NULL, so both mean "unset". */
static gchar *
model_info_get_models (GimpProcedureConfig *config)
{
  g_autoptr (GFile) file = NULL;

  g_object_get (config, "models", &file, NULL);
  if (file == NULL)
    return NULL;

  return g_file_get_path (file);
}

/* Cancelled work is a cancel, a bad argument a calling error, anything else an execution error. */
static GimpPDBStatusType
model_info_status_from_error (const GError *error)
{
  if (g_error_matches (error, GILL_ERROR, GILL_ERROR_CANCELLED))
    return GIMP_PDB_CANCEL;
  if (g_error_matches (error, GILL_ERROR, GILL_ERROR_INVALID_ARGUMENT))
    return GIMP_PDB_CALLING_ERROR;

  return GIMP_PDB_EXECUTION_ERROR;
}

static GimpValueArray *
model_info_run (GimpProcedure                      *procedure,
                GimpRunMode                         run_mode,
                G_GNUC_UNUSED GimpImage            *image,
                G_GNUC_UNUSED GimpDrawable        **drawables,
                GimpProcedureConfig                *config,
                G_GNUC_UNUSED gpointer              run_data)
{
  g_autofree gchar *argument = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *info = NULL;
  GError *error = NULL;
  GimpValueArray *return_values;

  /* Describing a model reads files only: the image and its drawables are never touched. */

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      if (! model_info_dialog (procedure, config))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }

  /* GIMP itself refuses a "models" that is not an existing folder (a calling error naming the
   * argument); a path from GILL_MODELS or config.json is checked by the library. */
  argument = model_info_get_models (config);
  path = gill_plugin_config_find_models (argument, &error);
  if (path != NULL)
    info = gill_describe_path (path, &error);

  if (info == NULL)
    return gimp_procedure_new_return_values (procedure,
                                             model_info_status_from_error (error),
                                             error);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    gimp_message (info);

  return_values = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_TAKE_STRING (return_values, 1, g_steal_pointer (&info));

  return return_values;
}

/*  Below is only UI stuff  */

/* Ask for the folder, pre-filled from GILL_MODELS or config.json when the argument is unset.
 * Returns FALSE when the user cancelled. */
static gboolean
model_info_dialog (GimpProcedure       *procedure,
                   GimpProcedureConfig *config)
{
  g_autofree gchar *argument = NULL;
  GtkWidget *dialog;
  gboolean run;

  gimp_ui_init (PLUG_IN_BINARY);

  argument = model_info_get_models (config);
  if (argument == NULL)
    {
      g_autofree gchar *fallback = gill_plugin_config_find_models (NULL, NULL);

      if (fallback != NULL)
        {
          g_autoptr (GFile) file = g_file_new_for_path (fallback);

          g_object_set (config, "models", file, NULL);
        }
    }

  dialog = gimp_procedure_dialog_new (procedure, config, _("GILL Model Info"));
  gtk_window_set_role (GTK_WINDOW (dialog), PLUG_IN_ROLE);
  gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), NULL);

  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  gtk_widget_destroy (dialog);

  return run;
}
