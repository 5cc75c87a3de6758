"""Credentials without HTTP: password hashing, signed bearer tokens, device keys.

The HTTP side (reading ``Authorization``, turning credentials into an
:class:`~service.actor.Actor`) lives in :mod:`service.api.security`; who may see which rows
lives in :mod:`service.policy`.
"""
