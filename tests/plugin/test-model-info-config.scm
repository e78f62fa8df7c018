; Without the argument the folder comes from config.json ("models"), and a broken config.json is
; an error that names the file.  (GILL_MODELS is unset here: see test-model-info-env.scm.)
(let ((img (car (gill-make-image))))
  ; absolute path
  (gill-write-file gill-config-path
                   (string-append "{\"models\": \"" gill-opt-folder "\", \"_comment\": \"test\"}"))
  (gill-assert-contains (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img)
                        "decoder.layers.0.fc1.weight")
  ; the argument wins over config.json
  (gill-write-file gill-config-path "{\"models\": \"/nonexistent/from-config\"}")
  (gill-assert-contains (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img
                                                 #:models gill-opt-folder)
                        "decoder.layers.0.fc1.weight")
  ; ... and config.json is really read: its folder shows up in the error
  (gill-assert-contains (gill-error-message
                          (gill-call-catching
                            (lambda ()
                              (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE
                                                       #:image img))))
                        "/nonexistent/from-config")
  ; not JSON
  (gill-write-file gill-config-path "models = /x")
  (let ((result (gill-call-catching
                  (lambda ()
                    (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img)))))
    (gill-assert (gill-error? result) "a broken config.json did not fail:" result)
    (gill-assert-contains (gill-error-message result) "config.json"))
  ; "models" of the wrong type
  (gill-write-file gill-config-path "{\"models\": 5}")
  (gill-assert-contains (gill-error-message
                          (gill-call-catching
                            (lambda ()
                              (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE
                                                       #:image img))))
                        "\"models\"")
  ; empty "models" means unset
  (gill-write-file gill-config-path "{\"models\": \"\"}")
  (gill-assert-contains (gill-error-message
                          (gill-call-catching
                            (lambda ()
                              (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE
                                                       #:image img))))
                        "No model folder given"))
