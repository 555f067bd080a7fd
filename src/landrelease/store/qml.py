"""QGIS styles as QML documents: a layer drawn by category of one column, for QGIS 3.

QGIS reads a layer's default style from the GeoPackage's `layer_styles` table (see
`store/gis.py`); the document is the one QGIS itself writes with "Save Style": a
`categorizedSymbol` renderer, one symbol per code and one for any other value. Each symbol
layer carries its properties twice, as QGIS 3.22+ writes them (an `Option` map) and as
earlier QGIS 3 releases read them (`prop` elements), so every QGIS 3 draws it the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from xml.etree import ElementTree as ET

Rgb = tuple[int, int, int]
Shape = Literal["polygon", "point"]

QGIS_VERSION = "3.22.0-Białowieża"  # the oldest release whose format this follows
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
_GEOMETRY_TYPE = {"point": "0", "polygon": "2"}  # QgsWkbTypes::GeometryType
_NO_SCALE = "3x:0,0,0,0,0,0"


@dataclass(frozen=True)
class Category:
    """One class of a categorised layer: the stored code, its legend label, its colour."""

    value: str
    label: str
    colour: Rgb


@dataclass(frozen=True)
class Look:
    """How a layer's symbols are drawn, whatever their colour."""

    shape: Shape
    fill_alpha: int = 150  # 0-255: hazard areas stay readable over a base map
    outline_width_mm: float = 0.4
    outline_style: str = "solid"  # solid | dash | dot
    marker: str = "circle"  # a QGIS simple marker name: circle, triangle, star, ...
    size_mm: float = 2.6
    layer_opacity: float = 1.0

    def faded(self) -> Look:
        """Return this look faded, for earlier versions drawn under the current ones."""
        return Look(
            shape=self.shape,
            fill_alpha=min(self.fill_alpha, 45),
            outline_width_mm=self.outline_width_mm,
            outline_style="dash",
            marker=self.marker,
            size_mm=self.size_mm,
            layer_opacity=0.5,
        )


OTHER = Category("", "other value (run landrelease check)", (255, 0, 255))


def categorised(column: str, categories: Sequence[Category], look: Look) -> str:
    """Return the QML of a layer drawn by the value of `column`, one symbol per category.

    A last category catches any other value (a code typed outside the list), drawn magenta
    so that it stands out.
    """
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology")
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        type="categorizedSymbol",
        attr=column,
        forceraster="0",
        symbollevels="0",
        enableorderby="0",
        referencescale="-1",
    )
    classes = [*categories, OTHER]
    listed = ET.SubElement(renderer, "categories")
    for i, cat in enumerate(classes):
        ET.SubElement(
            listed, "category", value=cat.value, label=cat.label, symbol=str(i), render="true"
        )
    symbols = ET.SubElement(renderer, "symbols")
    for i, cat in enumerate(classes):
        symbols.append(_symbol(str(i), cat.colour, look))
    source = ET.SubElement(renderer, "source-symbol")
    source.append(_symbol("0", (160, 160, 160), look))
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerOpacity").text = f"{look.layer_opacity:g}"
    ET.SubElement(root, "layerGeometryType").text = _GEOMETRY_TYPE[look.shape]
    ET.indent(root)
    return DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n"


def _symbol(name: str, colour: Rgb, look: Look) -> ET.Element:
    kind = "fill" if look.shape == "polygon" else "marker"
    symbol = ET.Element(
        "symbol",
        type=kind,
        name=name,
        alpha="1",
        clip_to_extent="1",
        force_rhr="0",
        is_animated="0",
        frame_rate="10",
    )
    symbol.append(_no_data_defined())
    layer_class = "SimpleFill" if kind == "fill" else "SimpleMarker"
    attributes = {"class": layer_class, "enabled": "1", "locked": "0", "pass": "0"}
    layer = ET.SubElement(symbol, "layer", attributes)
    props = _fill(colour, look) if kind == "fill" else _marker(colour, look)
    options = ET.SubElement(layer, "Option", type="Map")
    for key, value in props.items():
        ET.SubElement(options, "Option", type="QString", name=key, value=value)
    for key, value in props.items():
        ET.SubElement(layer, "prop", k=key, v=value)
    layer.append(_no_data_defined())
    return symbol


def _rgba(colour: Rgb, alpha: int) -> str:
    return ",".join(str(c) for c in (*colour, alpha))


def _darker(colour: Rgb) -> Rgb:
    r, g, b = (int(c * 0.6) for c in colour)
    return r, g, b


def _fill(colour: Rgb, look: Look) -> dict[str, str]:
    return {
        "border_width_map_unit_scale": _NO_SCALE,
        "color": _rgba(colour, look.fill_alpha),
        "joinstyle": "bevel",
        "offset": "0,0",
        "offset_map_unit_scale": _NO_SCALE,
        "offset_unit": "MM",
        "outline_color": _rgba(_darker(colour), 255),
        "outline_style": look.outline_style,
        "outline_width": f"{look.outline_width_mm:g}",
        "outline_width_unit": "MM",
        "style": "solid",
    }


def _marker(colour: Rgb, look: Look) -> dict[str, str]:
    return {
        "angle": "0",
        "color": _rgba(colour, 255 if look.layer_opacity == 1 else 160),
        "horizontal_anchor_point": "1",
        "joinstyle": "bevel",
        "name": look.marker,
        "offset": "0,0",
        "offset_map_unit_scale": _NO_SCALE,
        "offset_unit": "MM",
        "outline_color": _rgba(_darker(colour), 255),
        "outline_style": look.outline_style,
        "outline_width": "0.2",
        "outline_width_map_unit_scale": _NO_SCALE,
        "outline_width_unit": "MM",
        "scale_method": "diameter",
        "size": f"{look.size_mm:g}",
        "size_map_unit_scale": _NO_SCALE,
        "size_unit": "MM",
        "vertical_anchor_point": "1",
    }


def _no_data_defined() -> ET.Element:
    """Return the empty data-defined property collection every QGIS symbol carries."""
    element = ET.Element("data_defined_properties")
    collection = ET.SubElement(element, "Option", type="Map")
    ET.SubElement(collection, "Option", type="QString", name="name", value="")
    ET.SubElement(collection, "Option", name="properties")
    ET.SubElement(collection, "Option", type="QString", name="type", value="collection")
    return element
