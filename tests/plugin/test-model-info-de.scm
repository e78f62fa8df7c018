;; env: LANG=de_DE.UTF-8 LANGUAGE=de
; The German catalogue is installed and found: the menu label and the submenu (translated when
; GIMP queries the plug-in, kept in the profile's pluginrc) and a run-time error message.
(let* ((img (car (gill-make-image)))
       (proc-def (gill-pluginrc-proc-def "plug-in-gill-model-info"))
       (unset (gill-call-catching
                (lambda ()
                  (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img)))))
  (display proc-def)
  (newline)
  (display unset)
  (newline)
  (gill-assert (string? proc-def) "plug-in-gill-model-info is not in pluginrc")
  (gill-assert-contains proc-def "\"GILL-_Modellinfo...\"")
  (gill-assert-contains proc-def "(menu-path \"<Image>/Filters/Generativ\")")
  (gill-assert-contains proc-def "\"_Modellordner\"")
  (gill-assert (not (gill-string-contains? proc-def "Model Info")) "an English label is left:"
               proc-def)
  (gill-assert (gill-error? unset) "no folder at all did not fail:" unset)
  (gill-assert-contains (gill-error-message unset) "Kein Modellordner angegeben"))
