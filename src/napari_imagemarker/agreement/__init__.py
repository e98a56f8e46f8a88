"""How far several users agree: kappas, consensus marks, gold standards, self-consistency
on repeated images, and reports (text, JSON, HTML).

``napari_imagemarker.agreement(save_dir, ...)`` (also ``napari_imagemarker.agreement.agreement``)
builds an :class:`~napari_imagemarker.agreement.report.AgreementReport`.
"""

from napari_imagemarker.agreement.report import AgreementReport, agreement

__all__ = ["AgreementReport", "agreement"]
