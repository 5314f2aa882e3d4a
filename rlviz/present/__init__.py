"""Presenting results to people: key moments and captions, colour maps, frame layouts, cards,
figures, video writers, report files and the video pipeline (:mod:`rlviz.present.video`)."""
