"""
Responses content parts translated to Chat content parts (text, images,
files; what Chat cannot carry dropped with a warning), and the checks of the
fields they are made of.  No Twisted here.
"""

from typing import Any

from codex_relay._core.errors import invalidRequest

_DETAILS = ("low", "high", "auto")
_TEXT_PARTS = ("input_text", "output_text", "text")


def typeError(message: str, param: str) -> Exception:
    """
    The 400 for a field of the wrong type.
    """
    return invalidRequest(message, param, "invalid_type")


def stringField(container: dict[str, Any], key: str, param: str) -> str:
    """
    C{container[key]}, which must be a string (a 400 otherwise).
    """
    value = container.get(key)
    if not isinstance(value, str):
        raise invalidRequest(
            "'{}' must be a string.".format(key), "{}.{}".format(param, key),
            "missing_required_parameter" if value is None else "invalid_type",
        )
    return value


def _imagePart(part: dict[str, Any], param: str) -> dict[str, Any]:
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        if part.get("file_id") is not None:
            raise invalidRequest(
                "input_image with a file_id is not supported by this relay (it keeps no "
                "files); send image_url as a URL or data: URL.",
                param + ".file_id", "unsupported_parameter",
            )
        raise invalidRequest(
            "input_image needs an image_url.", param + ".image_url", "missing_required_parameter"
        )
    detail = part.get("detail")
    # Codex sends "original", which Chat does not know.
    return {"type": "image_url",
            "image_url": {"url": url, "detail": detail if detail in _DETAILS else "auto"}}


def _filePart(part: dict[str, Any], param: str, warnings: list[str]) -> dict[str, Any] | None:
    fileData = part.get("file_data")
    if not isinstance(fileData, str):
        warnings.append("dropped input_file without file_data ({}): file_id and file_url "
                        "need storage this relay does not have".format(param))
        return None
    chatFile = {"file_data": fileData}
    if isinstance(part.get("filename"), str):
        chatFile["filename"] = part["filename"]
    return {"type": "file", "file": chatFile}


def contentParts(parts: list[Any], param: str, warnings: list[str]) -> list[dict[str, Any]]:
    """
    Translate Responses content parts to Chat parts, dropping what Chat
    cannot carry.
    """
    chatParts = []
    for index, part in enumerate(parts):
        partParam = "{}[{}]".format(param, index)
        if not isinstance(part, dict):
            raise typeError("Each content part must be an object.", partParam)
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            chatParts.append({"type": "text", "text": stringField(part, "text", partParam)})
        elif kind == "refusal":
            chatParts.append({"type": "text", "text": stringField(part, "refusal", partParam)})
        elif kind == "input_image":
            chatParts.append(_imagePart(part, partParam))
        elif kind == "input_file":
            filePart = _filePart(part, partParam, warnings)
            if filePart is not None:
                chatParts.append(filePart)
        else:
            warnings.append("dropped content part of type {!r} ({})".format(kind, partParam))
    return chatParts


def joinedText(parts: list[Any], key: str, separator: str) -> str:
    """
    The C{key} text of every part that has one, joined.
    """
    return separator.join(
        part[key] for part in parts if isinstance(part, dict) and isinstance(part.get(key), str)
    )
