; lib.scm — helpers for the plug-in tests (Script-Fu v3 dialect), loaded before each test.
;
; run-test.sh defines, before loading this file:
;   gill-fixtures   the golden fixtures folder (../shared/fixtures, /fixtures in the chroot)
;   gill-test-dir   this folder
; and Script-Fu itself defines gimp-directory, the test's own profile folder.  The environment
; variable XDG_CONFIG_HOME points at (string-append gimp-directory "/xdg-config"), whose gill/
; folder exists and starts empty.

; Speed note: in Script-Fu, char=?, string=?, equal? and list->string are written in Scheme
; (scriptfu-init/init.scm), while eqv?, string-ref and read-char are built in.  The loops below
; compare characters with eqv? and live at top level (each global lookup walks every enclosing
; frame), which makes scanning pluginrc about ten times faster.

(define (gill--match-at? haystack needle i j m)
  (or (= j m)
      (and (eqv? (string-ref haystack (+ i j)) (string-ref needle j))
           (gill--match-at? haystack needle i (+ j 1) m))))

; #t when NEEDLE occurs in HAYSTACK.
(define (gill-string-contains? haystack needle)
  (let ((n (string-length haystack))
        (m (string-length needle)))
    (let loop ((i 0))
      (cond ((> (+ i m) n) #f)
            ((gill--match-at? haystack needle i 0 m) #t)
            (else (loop (+ i 1)))))))

; Fail the test (exit 70) with MESSAGE and the offending values unless CONDITION holds.
(define (gill-assert condition message . values)
  (if (not condition)
      (apply error (cons (string-append "ASSERTION FAILED: " message) values))))

(define (gill-assert-contains haystack needle)
  (gill-assert (and (string? haystack) (gill-string-contains? haystack needle))
               (string-append "expected the text to contain \"" needle "\", got")
               haystack))

; Run THUNK; a Script-Fu error (a failed PDB call included) comes back as the list
; (gill-error "message" ...) instead of ending the script.  (catch ...) from init.scm drops the
; message; this keeps it, so tests can check what the user would read.
(define (gill-call-catching thunk)
  (call/cc
    (lambda (return)
      (let ((saved-hook *error-hook*))
        (set! *error-hook*
              (lambda args
                (set! *error-hook* saved-hook)
                (return (cons 'gill-error args))))
        (let ((result (thunk)))
          (set! *error-hook* saved-hook)
          result)))))

(define (gill-error? result)
  (and (pair? result) (eq? (car result) 'gill-error)))

(define (gill-error-message result)
  (if (and (gill-error? result) (pair? (cdr result)) (string? (cadr result)))
      (cadr result)
      ""))

; After a "(": consume the rest of NEEDLE (from index I) if it follows; a mismatch stays unread.
(define (gill--rest-matches? port needle i n)
  (or (= i n)
      (let ((c (peek-char port)))
        (and (eqv? c (string-ref needle i))
             (begin (read-char port) (gill--rest-matches? port needle (+ i 1) n))))))

; Copy up to the parenthesis that closes the entry (parentheses inside strings do not count);
; returns the characters read, in reverse order, or #f at the end of the file.
(define (gill--copy-entry port depth in-string escaped chars)
  (let ((c (read-char port)))
    (cond ((eof-object? c) #f)
          (escaped (gill--copy-entry port depth in-string #f (cons c chars)))
          (in-string (gill--copy-entry port depth (not (eqv? c #\")) (eqv? c #\\) (cons c chars)))
          ((eqv? c #\") (gill--copy-entry port depth #t #f (cons c chars)))
          ((eqv? c #\() (gill--copy-entry port (+ depth 1) #f #f (cons c chars)))
          ((and (eqv? c #\)) (= depth 1)) (cons c chars))
          ((eqv? c #\)) (gill--copy-entry port (- depth 1) #f #f (cons c chars)))
          (else (gill--copy-entry port depth #f #f (cons c chars))))))

(define (gill--find-entry port needle n)
  (let ((c (read-char port)))
    (cond ((eof-object? c) #f)
          ((and (eqv? c #\() (gill--rest-matches? port needle 1 n))
           (gill--copy-entry port 1 #f #f '()))
          (else (gill--find-entry port needle n)))))

; The text of the (proc-def "NAME" ...) entry in this profile's pluginrc, or #f.  The file
; (300 kB) holds strings longer than Script-Fu's reader accepts, so it is scanned as characters.
(define (gill-pluginrc-proc-def name)
  (let* ((needle (string-append "(proc-def \"" name "\""))
         (port (open-input-file (string-append gimp-directory "/pluginrc")))
         (chars (gill--find-entry port needle (string-length needle))))
    (close-input-port port)
    (and chars (string-append needle (list->string (reverse chars))))))

; Write TEXT to PATH, replacing it.
(define (gill-write-file path text)
  (let ((port (open-output-file path)))
    (display text port)
    (close-output-port port)))

; The user's config.json for this test (XDG_CONFIG_HOME is inside the test's profile).
(define gill-config-path (string-append gimp-directory "/xdg-config/gill/config.json"))

; A small RGB image with two layers, the upper one selected: ids (image bottom top).
(define (gill-make-image)
  (let* ((img (gimp-image-new 64 48 RGB))
         (bottom (gimp-layer-new img "bottom" 64 48 RGBA-IMAGE 100 LAYER-MODE-NORMAL))
         (top (gimp-layer-new img "top" 32 16 RGBA-IMAGE 100 LAYER-MODE-NORMAL)))
    (gimp-image-insert-layer img bottom 0 0)
    (gimp-image-insert-layer img top 0 0)
    (gimp-image-set-selected-layers img (vector top))
    (list img bottom top)))

(define gill-opt-folder (string-append gill-fixtures "/tiny-opt/opt6.7b_style"))
