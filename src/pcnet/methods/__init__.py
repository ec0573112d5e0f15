"""Image → labels behind one signature: the registry behind :func:`pcnet.superpixels`, the
classical methods, and the learned ones (a :class:`Segmenter` per loaded model, tiled inference).
Names load on first use: the classical methods never import PyTorch."""

from pcnet._lazy import lazy_exports

#: public name -> the module that owns it
_EXPORTS = {
    "Segmenter": "pcnet.methods.learned",
    "available_methods": "pcnet.methods.registry",
    "check_options": "pcnet.methods.registry",
    "is_connected": "pcnet.methods.registry",
    "load_segmenter": "pcnet.methods.learned",
    "method_options": "pcnet.methods.registry",
    "register_method": "pcnet.methods.registry",
    "superpixels": "pcnet.methods.registry",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
