;; env: GILL_MODELS=@FIXTURES@/tiny-opt/opt6.7b_style
; Without the argument, GILL_MODELS names the folder, and it wins over config.json.
(let ((img (car (gill-make-image))))
  (gill-write-file gill-config-path "{\"models\": \"/nonexistent/from-config\"}")
  (gill-assert-contains (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img)
                        "decoder.layers.0.fc1.weight"))
