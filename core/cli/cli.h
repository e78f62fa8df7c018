/* cli.h — what the `gill` sub-commands share: the command table, common options and the
 * message/exit-status conventions.
 *
 *   messages   gill: FILE: what went wrong; what to do      (stderr)
 *   exit       0 success, 1 failure, 2 usage
 *   options    --models DIR (env GILL_MODELS), --config-file FILE (env GILL_CONFIG)
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

enum
{
  GILL_EXIT_OK = 0,
  GILL_EXIT_FAILURE = 1,
  GILL_EXIT_USAGE = 2,
};

typedef struct
{
  gchar *models;      /* --models / GILL_MODELS */
  gchar *config_file; /* --config-file / GILL_CONFIG */
} GillCliCommon;

/* env defaults applied after parsing (gill_cli_parse does it) */
void          gill_cli_common_finish   (GillCliCommon *common);
void          gill_cli_common_clear    (GillCliCommon *common);

/* parse argv with entries; on error print "gill CMD: ..." and return FALSE (usage) */
gboolean      gill_cli_parse           (const gchar        *command,
                                        const gchar        *parameter_string,
                                        const gchar        *summary,
                                        const GOptionEntry *entries,
                                        GillCliCommon      *common,
                                        int                *argc,
                                        char             ***argv);
/* print a GError as "gill: <message>" */
void          gill_cli_print_error     (const GError *error);

int gill_cmd_info     (int argc, char **argv);
int gill_cmd_check    (int argc, char **argv);
int gill_cmd_bench    (int argc, char **argv);

G_END_DECLS
