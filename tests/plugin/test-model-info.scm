; plug-in-gill-model-info on a fixture OPT folder returns its description, with one drawable,
; several, or none selected.
(let* ((parts (gill-make-image))
       (img (car parts))
       (bottom (cadr parts))
       (top (caddr parts))
       (info-none (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img
                                           #:models gill-opt-folder))
       (info-one (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img
                                          #:drawables (vector top)
                                          #:models gill-opt-folder))
       (info-many (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img
                                           #:drawables (vector top bottom)
                                           #:models gill-opt-folder)))
  (display info-none)
  (newline)
  (gill-assert (string? info-none) "the info return value is not a string:" info-none)
  ; facts about the fixture (tiny-opt/manifest.json: 3 layers, hidden 48, ffn 192)
  (gill-assert-contains info-none "opt6.7b_style")
  (gill-assert-contains info-none "decoder.layers.0.fc1.weight")
  (gill-assert-contains info-none "decoder.layers.2.fc2.weight")
  (gill-assert-contains info-none "tensors: 52")
  (gill-assert (string=? info-none info-one) "one drawable changed the description")
  (gill-assert (string=? info-none info-many) "several drawables changed the description"))
