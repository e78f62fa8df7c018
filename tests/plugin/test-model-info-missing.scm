; A folder that does not exist, or no folder at all, fails cleanly: an error with a message that
; names the problem, no crash, and the script can go on.
(let* ((img (car (gill-make-image)))
       (missing "/nonexistent/gill-models-here")
       ; GIMP checks a folder argument itself: a calling error that names the argument
       (result (gill-call-catching
                 (lambda ()
                   (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img
                                            #:models missing))))
       (unset #f)
       (from-config #f))
  (display result)
  (newline)
  (gill-assert (gill-error? result) "a missing folder did not fail:" result)
  (gill-assert-contains (gill-error-message result) "plug-in-gill-model-info")
  (gill-assert-contains (gill-error-message result) "'models'")

  ; neither the argument, GILL_MODELS nor config.json names a folder: the plug-in's own error
  (set! unset (gill-call-catching
                (lambda ()
                  (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img))))
  (display unset)
  (newline)
  (gill-assert (gill-error? unset) "no folder at all did not fail:" unset)
  (gill-assert-contains (gill-error-message unset) "No model folder given")
  (gill-assert-contains (gill-error-message unset) "GILL_MODELS")

  ; a missing folder that GIMP does not see (config.json): the library's error names it
  (gill-write-file gill-config-path (string-append "{\"models\": \"" missing "\"}"))
  (set! from-config (gill-call-catching
                      (lambda ()
                        (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img))))
  (display from-config)
  (newline)
  (gill-assert (gill-error? from-config) "a missing folder from config.json did not fail:"
               from-config)
  (gill-assert-contains (gill-error-message from-config) "execution of plug-in-gill-model-info")
  (gill-assert-contains (gill-error-message from-config) missing)

  ; the plug-in still works afterwards
  (gill-assert-contains (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img
                                                 #:models gill-opt-folder)
                        "decoder.layers.0.fc1.weight"))
