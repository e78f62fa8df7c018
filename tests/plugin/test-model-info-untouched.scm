; Describing a model leaves the image exactly as it was: layers, selection, size, dirty state.
(define (image-state img)
  (list (vector->list (gimp-image-get-layers img))
        (vector->list (gimp-image-get-selected-layers img))
        (gimp-image-get-width img)
        (gimp-image-get-height img)
        (gimp-image-get-base-type img)
        (gimp-image-is-dirty img)
        (map gimp-item-get-name (vector->list (gimp-image-get-layers img)))))

(let* ((parts (gill-make-image))
       (img (car parts))
       (top (caddr parts))
       (before (image-state img)))
  (gimp-image-clean-all img)
  (set! before (image-state img))
  (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector top)
                           #:models gill-opt-folder)
  ; a failing call must not leave anything behind either
  (gill-call-catching
    (lambda ()
      (plug-in-gill-model-info #:run-mode RUN-NONINTERACTIVE #:image img
                               #:models "/nonexistent/folder")))
  (let ((after (image-state img)))
    (display (list 'before before 'after after))
    (newline)
    (gill-assert (= (length (car before)) 2) "the test image should have 2 layers:" before)
    (gill-assert (equal? before after) "the image changed:" before after)))
