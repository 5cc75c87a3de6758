"""Every printed document: worksheet layout and PDF, fonts, markers, annotated papers
(``annotated``) and error books (``book``)."""
