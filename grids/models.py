"""The 3+1 grid tree and the places that grids are made of."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$",
    _("Use 1 to 40 letters, digits, dots, dashes or underscores."),
)


class GridKind(models.TextChoices):
    TOTAL = "total", _("community total grid")
    GENERAL = "general", _("general grid")
    MICRO = "micro", _("micro grid")
    DEDICATED = "dedicated", _("dedicated grid")


# The one statement of the 3+1 structure: which kind of parent each kind of
# grid must have, None meaning that it is a root.
PARENT_KIND: dict[str, str | None] = {
    GridKind.TOTAL: None,
    GridKind.GENERAL: GridKind.TOTAL,
    GridKind.MICRO: GridKind.GENERAL,
    GridKind.DEDICATED: GridKind.TOTAL,
}

# Kinds that places belong to: the leaves of the structure.
PLACE_GRID_KINDS = (GridKind.MICRO, GridKind.DEDICATED)


def parent_kind_error(kind: str, parent: "Grid | None") -> str | None:
    """Return why ``parent`` cannot hold a grid of ``kind``, or None if it can."""
    expected = PARENT_KIND[kind]
    label = GridKind(kind).label
    if expected is None and parent is not None:
        return _("A %(kind)s is a root and cannot sit under %(parent)s.") % {
            "kind": label,
            "parent": parent.code,
        }
    if expected is not None and parent is None:
        return _("A %(kind)s needs a parent %(expected)s.") % {
            "kind": label,
            "expected": GridKind(expected).label,
        }
    if expected is not None and parent is not None and parent.kind != expected:
        return _(
            "A %(kind)s must sit under a %(expected)s, "
            "but %(parent)s is a %(parent_kind)s."
        ) % {
            "kind": label,
            "expected": GridKind(expected).label,
            "parent": parent.code,
            "parent_kind": GridKind(parent.kind).label,
        }
    return None


class Grid(MPTTModel):
    kind = models.CharField(_("kind"), max_length=16, choices=GridKind.choices)
    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[code_validator],
        help_text=_("Stable code printed on rosters and QR posters, e.g. TR-03-2."),
    )
    name = models.CharField(_("name"), max_length=100)
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent grid"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    boundary = models.TextField(
        _("boundary"),
        blank=True,
        help_text=_("Streets, buildings or sites that the grid covers, in words."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        indexes = [models.Index(fields=["kind", "is_active"], name="grid_kind_active")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def unique_error_message(
        self, model_class: "type[Grid]", unique_check: Sequence[str]
    ) -> ValidationError:
        if tuple(unique_check) == ("code",):
            return ValidationError(
                _("Grid code %(code)s is already in use; choose another code."),
                code="unique",
                params={"code": self.code},
            )
        return super().unique_error_message(model_class, unique_check)

    def clean(self) -> None:
        super().clean()
        # The cycle check comes first: a grid under itself breaks the kind
        # rule too, but "cycle" is the message that explains it.
        if self.pk and self.parent_id is not None:
            descendant_ids = self.get_descendants(include_self=True).values_list(
                "pk", flat=True
            )
            if self.parent_id in set(descendant_ids):
                raise ValidationError(
                    {
                        "parent": _(
                            "%(parent)s is %(grid)s itself or lies below it; "
                            "moving there would make a cycle."
                        )
                        % {"parent": self.parent.code, "grid": self.code}
                    }
                )
        if not self.kind:
            return

        error = parent_kind_error(self.kind, self.parent)
        if error:
            raise ValidationError({"parent": error})
        if self.pk:
            self._check_children_fit_kind()
            self._check_places_fit_kind()
            if not self.is_active:
                self._check_no_active_children()

    def _check_children_fit_kind(self) -> None:
        for child in Grid.objects.filter(parent_id=self.pk).only("kind", "code")[:1000]:
            if PARENT_KIND[child.kind] != self.kind:
                raise ValidationError(
                    {
                        "kind": _(
                            "%(grid)s cannot become a %(kind)s because its child "
                            "%(child)s is a %(child_kind)s."
                        )
                        % {
                            "grid": self.code,
                            "kind": GridKind(self.kind).label,
                            "child": child.code,
                            "child_kind": GridKind(child.kind).label,
                        }
                    }
                )

    def _check_places_fit_kind(self) -> None:
        if self.kind in PLACE_GRID_KINDS:
            return
        place_code = (
            Place.objects.filter(grid_id=self.pk).values_list("code", flat=True).first()
        )
        if place_code is not None:
            raise ValidationError(
                {
                    "kind": _(
                        "%(grid)s cannot become a %(kind)s because place %(place)s "
                        "belongs to it; places belong to micro or dedicated grids."
                    )
                    % {
                        "grid": self.code,
                        "kind": GridKind(self.kind).label,
                        "place": place_code,
                    }
                }
            )

    def _check_no_active_children(self) -> None:
        active_children = list(
            Grid.objects.filter(parent_id=self.pk, is_active=True)
            .order_by("code")
            .values_list("code", flat=True)[:5]
        )
        if active_children:
            raise ValidationError(
                {
                    "is_active": _(
                        "%(grid)s still has active child grids (%(children)s); "
                        "deactivate or move them first."
                    )
                    % {"grid": self.code, "children": ", ".join(active_children)}
                }
            )


class PlaceKind(models.TextChoices):
    BUILDING = "building", _("building")
    FLOOR = "floor", _("floor")
    DORMITORY = "dormitory", _("dormitory")
    SHOP = "shop", _("shop")
    STREET = "street", _("street segment")
    PRODUCTION_LINE = "line", _("production line")


class Place(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=PlaceKind.choices)
    code = models.CharField(
        _("code"), max_length=40, unique=True, validators=[code_validator]
    )
    name = models.CharField(_("name"), max_length=100)
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="places",
        limit_choices_to={"kind__in": PLACE_GRID_KINDS},
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["code"]
        indexes = [models.Index(fields=["grid", "is_active"], name="place_grid_active")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def unique_error_message(
        self, model_class: "type[Place]", unique_check: Sequence[str]
    ) -> ValidationError:
        if tuple(unique_check) == ("code",):
            return ValidationError(
                _("Place code %(code)s is already in use; choose another code."),
                code="unique",
                params={"code": self.code},
            )
        return super().unique_error_message(model_class, unique_check)

    def clean(self) -> None:
        super().clean()
        if self.grid_id is None:
            return
        grid = Grid.objects.filter(pk=self.grid_id).first()
        if grid is None:
            # A missing grid is reported by clean_fields() on the grid field.
            return
        if grid.kind not in PLACE_GRID_KINDS:
            raise ValidationError(
                {
                    "grid": _(
                        "A place belongs to a micro or dedicated grid, "
                        "but %(grid)s is a %(kind)s."
                    )
                    % {"grid": grid.code, "kind": GridKind(grid.kind).label}
                }
            )
