"""Kept for old imports: the reference layer is :class:`kanmix.kan.PlainKANLinear`.

It is :class:`~kanmix.kan.KANLinear` computed by its ``plain_forward``, efficient-KAN's formula
(SiLU and the materialised bases, then two ``F.linear`` calls), with the same parameters.
"""

from kanmix.kan import PlainKANLinear as ReferenceKANLinear

__all__ = ["ReferenceKANLinear"]
