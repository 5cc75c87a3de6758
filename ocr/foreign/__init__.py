"""Foreign pages: a page markbook did not print (a teacher's own worksheet, a workbook page,
a school's bubble answer sheet) graded from one blank of it.

``register`` and ``places`` propose answer regions on the blank; ``blank``, ``patches`` and
``match`` register each filled copy to the blank by its print (or refuse it as another
page); ``omrchecker`` reads a school's OMRChecker ``template.json`` as bubbles on the
blank. The service reaches them through templates (``service.templates``,
``service.jobs.templatework``)."""
