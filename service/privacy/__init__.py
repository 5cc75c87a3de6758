"""Children's data (PIPL): a student's export and erasure, the tombstones that keep an
erased student's pages from coming back, and the retention of page images and crops."""
