"""Vietnamese names the sample city draws from: real Da Nang street names, people,
investors and institutions (the wards' names are the real ones, see `wards`).

Street names are real Da Nang names; where a large city needs more streets than the
pools hold, numbered neighbourhood streets are used ("Đường An Thượng 12"), as Da Nang
itself does."""
from __future__ import annotations

import unicodedata

# Arterials running roughly north-south and east-west (Đường trục chính).
ARTERIALS_NS = (
    "Đường Trần Phú", "Đường Bạch Đằng", "Đường 2 Tháng 9", "Đường Ngô Quyền",
    "Đường Nguyễn Tri Phương", "Đường Hàm Nghi", "Đường Núi Thành", "Đường Tôn Đức Thắng",
    "Đường Nguyễn Hữu Thọ", "Đường Ông Ích Khiêm", "Đường Cách Mạng Tháng 8",
    "Đường Trần Hưng Đạo", "Đường Võ Nguyên Giáp", "Đường Nguyễn Tất Thành",
    "Đường Lê Văn Hiến", "Đường Hoàng Văn Thái", "Đường Trường Sa", "Đường Xô Viết Nghệ Tĩnh",
)
ARTERIALS_EW = (
    "Đường Hùng Vương", "Đường Lê Duẩn", "Đường Nguyễn Văn Linh", "Đường Điện Biên Phủ",
    "Đường Trưng Nữ Vương", "Đường Duy Tân", "Đường Phạm Văn Đồng", "Đường Trường Chinh",
    "Đường Võ Văn Kiệt", "Đường Nguyễn Lương Bằng", "Đường Âu Cơ", "Đường Hoàng Sa",
    "Đường Ngũ Hành Sơn", "Đường Lê Thanh Nghị", "Đường Tôn Đản", "Đường Phan Đăng Lưu",
)
# Primary and secondary streets (Đường chính, đường khu vực).
PRIMARY = (
    "Đường Lê Lợi", "Đường Phan Châu Trinh", "Đường Hoàng Diệu", "Đường Quang Trung",
    "Đường Lý Thường Kiệt", "Đường Nguyễn Chí Thanh", "Đường Lê Đình Lý", "Đường Hải Phòng",
    "Đường Lý Thái Tổ", "Đường Nguyễn Văn Thoại", "Đường Hồ Nghinh", "Đường Đống Đa",
    "Đường Nguyễn Thị Minh Khai", "Đường Ông Ích Đường", "Đường Huỳnh Ngọc Huệ",
    "Đường Hà Huy Tập", "Đường Lê Độ", "Đường Nguyễn Văn Cừ", "Đường Phạm Hùng",
    "Đường Thái Phiên", "Đường Yên Bái", "Đường Pasteur", "Đường Lê Hồng Phong",
    "Đường Nguyễn Du", "Đường Trần Quốc Toản", "Đường Lý Tự Trọng", "Đường Phan Đình Phùng",
    "Đường Hoàng Hoa Thám", "Đường Phan Thanh", "Đường Huỳnh Thúc Kháng", "Đường Tiểu La",
    "Đường Lê Thánh Tôn", "Đường Nguyễn Công Trứ", "Đường Châu Thị Vĩnh Tế",
)
LOCAL = (
    "Đường Trần Cao Vân", "Đường Đào Duy Từ", "Đường Lê Đình Dương", "Đường Phan Bội Châu",
    "Đường Nguyễn Văn Trỗi", "Đường Nguyễn Hoàng", "Đường Trần Bình Trọng", "Đường Hồ Xuân Hương",
    "Đường Chu Văn An", "Đường Lê Quý Đôn", "Đường Nguyễn Khuyến", "Đường Tô Hiến Thành",
    "Đường Phạm Ngũ Lão", "Đường Bà Triệu", "Đường Nguyễn Thiện Thuật", "Đường Lương Ngọc Quyến",
    "Đường Đinh Tiên Hoàng", "Đường Ngô Gia Tự", "Đường Nguyễn Trãi", "Đường Nguyễn Thái Học",
    "Đường Lê Lai", "Đường Hoàng Văn Thụ", "Đường Trần Kế Xương", "Đường Thanh Sơn",
    "Đường Lê Văn Thứ", "Đường Nguyễn Đình Chiểu", "Đường Hoàng Kế Viêm", "Đường Phan Tứ",
    "Đường Đỗ Bá", "Đường Lê Quang Đạo", "Đường Nguyễn Bá Lân", "Đường Mai Hắc Đế",
    "Đường Lê Hữu Trác", "Đường Võ Văn Dũng", "Đường Trần Văn Dư", "Đường Nguyễn Phan Vinh",
    "Đường Lương Hữu Khánh", "Đường Phó Đức Chính", "Đường Trần Bạch Đằng", "Đường Văn Cao",
    "Đường Hà Bổng", "Đường Lê Mạnh Trinh", "Đường Dương Đình Nghệ", "Đường Nguyễn Duy Hiệu",
    "Đường Ngô Thì Sĩ", "Đường Phan Tôn", "Đường Hoài Thanh", "Đường Chế Lan Viên",
    "Đường Nguyễn Đức Trung", "Đường Tản Đà", "Đường Hàn Mặc Tử", "Đường Xuân Diệu",
    "Đường Trần Tống", "Đường Hải Hồ", "Đường Ngô Chi Lan", "Đường Cao Thắng",
    "Đường Hoàng Thị Loan", "Đường Nguyễn Sinh Sắc", "Đường Kinh Dương Vương", "Đường Tố Hữu",
    "Đường Huy Cận", "Đường Bế Văn Đàn", "Đường Trần Xuân Lê", "Đường Lê Trọng Tấn",
)
NEIGHBOURHOODS = (
    "An Thượng", "Mỹ An", "Phước Mỹ", "Thanh Lương", "Nam Cao", "Hòa Minh", "Bàu Trảng",
    "Khuê Mỹ Đông", "An Nhơn", "Nại Nam", "Trung Lương", "Phần Lăng", "Hòa Phú", "Tân Trà",
    "Đa Mặn", "Bình Thái", "Phú Lộc", "Cẩm Bắc", "Hóa Mỹ", "Mẹ Nhu",
)
# Fallback names for arterials once the pools are used up: provincial roads.
PROVINCIAL_ROAD = "Đường tỉnh ĐT{}"

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đoàn", "Trương", "Mai")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Thị Kim", "Công")
GIVEN = ("An", "Bình", "Châu", "Dũng", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương",
         "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Phúc", "Phương", "Quân",
         "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Trung", "Tuấn", "Vân", "Việt", "Yến")
COMPANIES = (
    "Công ty TNHH Xây dựng Sông Hàn", "Công ty Cổ phần Đầu tư Phát triển Đô thị Miền Trung",
    "Công ty TNHH Thương mại Dịch vụ Biển Xanh", "Công ty Cổ phần Du lịch Mỹ Khê",
    "Công ty TNHH Khách sạn Bạch Đằng", "Công ty Cổ phần Địa ốc Hòa Xuân",
)
INVESTORS = (
    "Ban Quản lý dự án đầu tư xây dựng các công trình dân dụng và công nghiệp thành phố Đà Nẵng",
    "Ban Quản lý dự án đầu tư xây dựng các công trình giao thông và nông nghiệp thành phố Đà Nẵng",
    "Công ty Cổ phần Đầu tư Phát triển Đô thị Miền Trung", "Công ty Cổ phần Địa ốc Hòa Xuân",
    "Công ty TNHH Bất động sản Sông Hàn", "Tổng Công ty Xây dựng Công trình Giao thông Miền Trung",
    "Công ty Cổ phần Du lịch Mỹ Khê", "Ủy ban nhân dân thành phố Đà Nẵng",
)
PROJECT_KINDS = (
    ("Khu đô thị mới {}", "urban"), ("Khu tái định cư {}", "resettlement"),
    ("Trung tâm thương mại {}", "commercial"), ("Công viên {}", "park"),
    ("Mở rộng nút giao {}", "road"), ("Khu nhà ở xã hội {}", "housing"),
    ("Trường Trung học phổ thông {}", "school"), ("Bệnh viện {}", "hospital"),
)
PLACE_WORDS = ("Phước Lý", "Sông Hàn", "Nam Cẩm Lệ", "Hòa Xuân", "Golden Hills", "Bàu Tràm",
               "Tây Bắc", "Ven sông Cổ Cò", "Thuận Phước", "Mỹ Khê", "An Trung", "Hòa Quý")


def person_name(i: int) -> str:
    """A Vietnamese full name, chosen deterministically from `i`."""
    return (f"{FAMILY[i % len(FAMILY)]} {MIDDLE[(i // 7) % len(MIDDLE)]} "
            f"{GIVEN[(i // 3) % len(GIVEN)]}")


def ascii_name(text: str) -> str:
    """`text` without diacritics ("Hải Châu" -> "Hai Chau"), for English names."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def short_street(name: str) -> str:
    """"Đường Trần Phú" -> "Trần Phú", as addresses and intersection names write it."""
    return name[len("Đường "):] if name.startswith("Đường ") else name
