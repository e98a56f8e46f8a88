"""A NaN-aware ``custom`` interpolation kernel for napari's image visuals.

The blur of a single-channel layer is napari's ``custom`` interpolation: the GPU samples the
raw texture with a Gaussian kernel, so ``layer.data`` keeps its raw values and a new radius
costs nothing on the CPU. vispy's sampler sums ``weight * value`` over the kernel, so one
NaN pixel (no data) turns every screen pixel within the kernel's reach into NaN: a NaN hole
grows by 3 x radius on screen.

:func:`install` gives vispy's image visuals a sampler that is a normalised convolution
instead: samples that are NaN are left out and the others re-weighted by the kernel weight
they stand for; a pixel that is NaN itself stays NaN (drawn as napari draws NaN). Where no
sample is NaN the result is exactly vispy's. napari offers no public hook into its shaders;
this replaces the one template vispy reads for ``custom`` interpolation (napari's own Labels
visual reads that table the same way), only if it is the template this was written for.
"""

from __future__ import annotations

import warnings

__all__ = ["NAN_AWARE_CUSTOM_FILTER", "install", "installed"]

#: The loop line of vispy's sampler (vispy 0.14-0.17) this replacement was written for.
_VISPY_LINE = "color += texture2D($texture, clamp(tex_pos, 0, 1)) * weight;"

NAN_AWARE_CUSTOM_FILTER = """
vec4 texture_lookup(vec2 texcoord) {
    // vispy's custom-kernel sampler, NaN-aware (napari-imagemarker)
    vec2 tex_pixel = 1 / $shape;
    vec2 kernel_pixel = 1 / $kernel_shape;
    vec2 sampling_corner = texcoord - ($kernel_shape / 2 * tex_pixel);

    // A pixel without data stays without data. The texture is read with linear filtering
    // (vispy sets it for custom kernels), and a filtered read that touches a NaN texel is
    // NaN even at zero weight, so the pixel's own texel cannot be read alone: each of four
    // reads, a quarter texel from its centre, blends it with a different side. All four
    // are NaN when it is (or, rarely, when NaN surrounds it on both sides).
    vec2 texel = floor(texcoord * $shape);
    vec4 own = texture2D($texture, (texel + vec2(0.25, 0.25)) * tex_pixel);
    float s0 = own.r + own.g + own.b + own.a;
    vec4 v1 = texture2D($texture, (texel + vec2(0.75, 0.25)) * tex_pixel);
    float s1 = v1.r + v1.g + v1.b + v1.a;
    vec4 v2 = texture2D($texture, (texel + vec2(0.25, 0.75)) * tex_pixel);
    float s2 = v2.r + v2.g + v2.b + v2.a;
    vec4 v3 = texture2D($texture, (texel + vec2(0.75, 0.75)) * tex_pixel);
    float s3 = v3.r + v3.g + v3.b + v3.a;
    if (!(s0 <= 0.0 || 0.0 <= s0) && !(s1 <= 0.0 || 0.0 <= s1)
            && !(s2 <= 0.0 || 0.0 <= s2) && !(s3 <= 0.0 || 0.0 <= s3)) {
        return own;  // NaN: drawn as napari draws NaN
    }

    vec2 kernel_pos, tex_pos;
    vec4 color = vec4(0);
    vec4 value;
    float weight, value_sum;
    float inside = 0.0;  // kernel weight on the image
    float finite = 0.0;  // of which on pixels with data

    // offset 0.5 to sample center of pixels
    for (float i = 0.5; i < $kernel_shape.x; i++) {
        for (float j = 0.5; j < $kernel_shape.y; j++) {
            kernel_pos = vec2(i, j) * kernel_pixel;
            tex_pos = sampling_corner + vec2(i, j) * tex_pixel;
            if (tex_pos.x >= 0 && tex_pos.y >= 0 && tex_pos.x <= 1 && tex_pos.y <= 1) {
                weight = texture2D($kernel, kernel_pos).r;
                value = texture2D($texture, clamp(tex_pos, 0, 1));
                inside += weight;
                value_sum = value.r + value.g + value.b + value.a;
                if (value_sum <= 0.0 || 0.0 <= value_sum) {  // false for NaN
                    color += value * weight;
                    finite += weight;
                }
            }
        }
    }
    if (finite == 0.0) {
        return own;  // no neighbour with data (own is NaN then)
    }
    if (finite != inside) {
        color *= inside / finite;  // the weight of the NaN samples, given to the others
    }
    return color;
}
"""

_installed = False


def installed() -> bool:
    """Whether image visuals created from now on sample NaN-aware."""
    return _installed


def install() -> bool:
    """Make vispy image visuals created from now on use :data:`NAN_AWARE_CUSTOM_FILTER` for
    ``custom`` interpolation; return whether they do.

    Visuals already made keep the sampler they were built with. If vispy's template is not
    the one this replaces (another vispy), nothing changes and a warning says so.
    """
    global _installed
    if _installed:
        return True
    from vispy.visuals.image import ImageVisual

    templates = getattr(ImageVisual, "_func_templates", None)
    current = templates.get("texture_lookup_custom", "") if isinstance(templates, dict) else ""
    if _VISPY_LINE not in current:
        warnings.warn(
            "napari-imagemarker: this vispy's custom-kernel sampler is not the one the "
            "NaN-aware blur replaces; a blurred NaN area grows on screen",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    ImageVisual._func_templates = {**templates, "texture_lookup_custom": NAN_AWARE_CUSTOM_FILTER}
    _installed = True
    return True
