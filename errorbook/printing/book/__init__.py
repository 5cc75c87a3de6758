"""The printed personalised error book (错题本): its model, cards, sections, style and PDF."""
