"""Vietnamese and English labels of the coded attribute values (`residential`, `issued`,
`ODT`, ...): what a planner reads in the map's popups instead of the stored code.

The styled categories (land use, building use, road class) come from the layer
registry's styles, so a colour and its label are defined once; the other coded columns
(the CHECK-constrained ones in layers/land.py, construction.py and traffic.py, and the
few free-text ones the city's data uses) are listed here. The map page hands the table
to the browser with its config (webmap.map_build)."""
from __future__ import annotations

from .registry import ALL_LAYERS

Labels = dict[str, tuple[str, str]]          # stored value -> (vi, en)

ADMIN_LEVELS: Labels = {
    "city": ("Thành phố", "City"), "district": ("Quận, huyện", "District"),
    "ward": ("Phường", "Ward"), "commune": ("Xã", "Commune"),
}
OWNER_TYPES: Labels = {
    "household": ("Hộ gia đình, cá nhân", "Household"),
    "organisation": ("Tổ chức", "Organisation"), "state": ("Nhà nước", "State"),
    "religious": ("Cơ sở tôn giáo", "Religious"),
    "foreign": ("Tổ chức, cá nhân nước ngoài", "Foreign"),
    "community": ("Cộng đồng dân cư", "Community"),
}
BUILDING_STATUS: Labels = {
    "existing": ("Hiện trạng", "Existing"),
    "under_construction": ("Đang xây dựng", "Under construction"),
    "planned": ("Dự kiến", "Planned"), "demolished": ("Đã phá dỡ", "Demolished"),
}
PERMIT_TYPES: Labels = {
    "new": ("Xây dựng mới", "New building"), "renovation": ("Sửa chữa, cải tạo", "Renovation"),
    "extension": ("Mở rộng", "Extension"), "demolition": ("Phá dỡ", "Demolition"),
}
PERMIT_STATUS: Labels = {
    "issued": ("Đã cấp", "Issued"), "expired": ("Hết hạn", "Expired"),
    "revoked": ("Đã thu hồi", "Revoked"), "pending": ("Đang xét duyệt", "Pending"),
}
PROJECT_PHASES: Labels = {
    "planning": ("Chuẩn bị đầu tư", "Planning"), "approval": ("Phê duyệt", "Approval"),
    "site_clearance": ("Giải phóng mặt bằng", "Site clearance"),
    "construction": ("Thi công", "Construction"), "completed": ("Hoàn thành", "Completed"),
    "suspended": ("Tạm dừng", "Suspended"),
}
# the city's project progress is kept in Vietnamese
PROJECT_STATUS: Labels = {
    "Đúng tiến độ": ("Đúng tiến độ", "On schedule"),
    "Chậm tiến độ": ("Chậm tiến độ", "Behind schedule"),
    "Đã hoàn thành": ("Đã hoàn thành", "Completed"), "Tạm dừng": ("Tạm dừng", "Suspended"),
}
SURFACES: Labels = {
    "asphalt": ("Bê tông nhựa", "Asphalt"), "concrete": ("Bê tông xi măng", "Concrete"),
    "paving": ("Lát gạch, đá", "Paving"), "gravel": ("Cấp phối, sỏi", "Gravel"),
    "earth": ("Đường đất", "Earth"),
}
INCIDENT_TYPES: Labels = {
    "collision": ("Va chạm", "Collision"), "breakdown": ("Xe hỏng", "Breakdown"),
    "flooding": ("Ngập nước", "Flooding"), "roadwork": ("Thi công đường", "Roadwork"),
    "congestion": ("Ùn tắc", "Congestion"), "other": ("Khác", "Other"),
}
SEVERITY: Labels = {
    "1": ("1 - Nhẹ", "1 - Minor"), "2": ("2 - Trung bình", "2 - Moderate"),
    "3": ("3 - Nghiêm trọng", "3 - Serious"), "4": ("4 - Rất nghiêm trọng", "4 - Severe"),
}
CAMERA_TYPES: Labels = {
    "traffic": ("Giám sát giao thông", "Traffic"), "speed": ("Đo tốc độ", "Speed"),
    "red_light": ("Vượt đèn đỏ", "Red light"), "surveillance": ("An ninh", "Surveillance"),
}
CAMERA_STATUS: Labels = {
    "online": ("Đang hoạt động", "Online"), "offline": ("Mất kết nối", "Offline"),
    "maintenance": ("Đang bảo trì", "Maintenance"),
}
DIRECTIONS: Labels = {
    "Bắc - Nam": ("Bắc - Nam", "North - South"), "Đông - Tây": ("Đông - Tây", "East - West"),
}

# (layer id, field) -> labels of its values, besides the styled categories
CODED_FIELDS: dict[tuple[str, str], Labels] = {
    ("admin_units", "level"): ADMIN_LEVELS,
    ("parcels", "owner_type"): OWNER_TYPES,
    ("buildings", "status"): BUILDING_STATUS,
    ("permits", "permit_type"): PERMIT_TYPES,
    ("permits", "status"): PERMIT_STATUS,
    ("projects", "phase"): PROJECT_PHASES,
    ("projects", "status"): PROJECT_STATUS,
    ("roads", "surface"): SURFACES,
    ("incidents", "incident_type"): INCIDENT_TYPES,
    ("incidents", "severity"): SEVERITY,
    ("cameras", "camera_type"): CAMERA_TYPES,
    ("cameras", "status"): CAMERA_STATUS,
    ("traffic_stations", "direction"): DIRECTIONS,
}


def value_labels() -> dict[str, dict[str, dict[str, list[str]]]]:
    """{layer id: {field: {stored value: [vi, en]}}} for every coded field of the
    registry (JSON-ready: the map's config carries it)."""
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    for layer in ALL_LAYERS:
        style = layer.style
        if style.category_field:
            out.setdefault(layer.id, {})[style.category_field] = {
                value: [vi, en] for value, _colour, vi, en in style.categories}
    for (layer_id, name), labels in CODED_FIELDS.items():
        out.setdefault(layer_id, {})[name] = {value: [vi, en] for value, (vi, en) in labels.items()}
    return out
