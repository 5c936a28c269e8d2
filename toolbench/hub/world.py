"""Fixed world facts the sandbox tools share: cities, countries, currencies, companies.

Coordinates, time zones and currencies are real; populations are rounded. Companies are fictional, so no
generated quote can be mistaken for a real market price.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    id: str
    name: str
    country: str  # ISO 3166-1 alpha-2
    latitude: float
    longitude: float
    timezone: str
    population: int
    climate: str  # drives generated weather: "temperate", "mediterranean", "tropical", "continental", "arid"


CITIES: tuple[City, ...] = (
    City("paris", "Paris", "FR", 48.8566, 2.3522, "Europe/Paris", 2_100_000, "temperate"),
    City("lyon", "Lyon", "FR", 45.7640, 4.8357, "Europe/Paris", 520_000, "temperate"),
    City("london", "London", "GB", 51.5072, -0.1276, "Europe/London", 8_900_000, "temperate"),
    City("berlin", "Berlin", "DE", 52.5200, 13.4050, "Europe/Berlin", 3_700_000, "continental"),
    City("munich", "Munich", "DE", 48.1351, 11.5820, "Europe/Berlin", 1_500_000, "continental"),
    City("madrid", "Madrid", "ES", 40.4168, -3.7038, "Europe/Madrid", 3_300_000, "mediterranean"),
    City("barcelona", "Barcelona", "ES", 41.3874, 2.1686, "Europe/Madrid", 1_600_000, "mediterranean"),
    City("rome", "Rome", "IT", 41.9028, 12.4964, "Europe/Rome", 2_800_000, "mediterranean"),
    City("new-york", "New York", "US", 40.7128, -74.0060, "America/New_York", 8_300_000, "continental"),
    City("chicago", "Chicago", "US", 41.8781, -87.6298, "America/Chicago", 2_700_000, "continental"),
    City("los-angeles", "Los Angeles", "US", 34.0522, -118.2437, "America/Los_Angeles", 3_900_000, "arid"),
    City("san-francisco", "San Francisco", "US", 37.7749, -122.4194, "America/Los_Angeles", 810_000,
         "mediterranean"),
    City("toronto", "Toronto", "CA", 43.6532, -79.3832, "America/Toronto", 2_800_000, "continental"),
    City("mexico-city", "Mexico City", "MX", 19.4326, -99.1332, "America/Mexico_City", 9_200_000, "temperate"),
    City("sao-paulo", "Sao Paulo", "BR", -23.5505, -46.6333, "America/Sao_Paulo", 12_300_000, "tropical"),
    City("tokyo", "Tokyo", "JP", 35.6762, 139.6503, "Asia/Tokyo", 14_000_000, "temperate"),
    City("osaka", "Osaka", "JP", 34.6937, 135.5023, "Asia/Tokyo", 2_700_000, "temperate"),
    City("singapore", "Singapore", "SG", 1.3521, 103.8198, "Asia/Singapore", 5_600_000, "tropical"),
    City("mumbai", "Mumbai", "IN", 19.0760, 72.8777, "Asia/Kolkata", 12_500_000, "tropical"),
    City("dubai", "Dubai", "AE", 25.2048, 55.2708, "Asia/Dubai", 3_500_000, "arid"),
    City("sydney", "Sydney", "AU", -33.8688, 151.2093, "Australia/Sydney", 5_300_000, "temperate"),
    City("cairo", "Cairo", "EG", 30.0444, 31.2357, "Africa/Cairo", 10_000_000, "arid"),
)
CITY_BY_ID = {c.id: c for c in CITIES}

COUNTRIES: dict[str, dict] = {
    "FR": {"name": "France", "currency": "EUR", "capital": "Paris", "calling_code": "+33"},
    "GB": {"name": "United Kingdom", "currency": "GBP", "capital": "London", "calling_code": "+44"},
    "DE": {"name": "Germany", "currency": "EUR", "capital": "Berlin", "calling_code": "+49"},
    "ES": {"name": "Spain", "currency": "EUR", "capital": "Madrid", "calling_code": "+34"},
    "IT": {"name": "Italy", "currency": "EUR", "capital": "Rome", "calling_code": "+39"},
    "US": {"name": "United States", "currency": "USD", "capital": "Washington", "calling_code": "+1"},
    "CA": {"name": "Canada", "currency": "CAD", "capital": "Ottawa", "calling_code": "+1"},
    "MX": {"name": "Mexico", "currency": "MXN", "capital": "Mexico City", "calling_code": "+52"},
    "BR": {"name": "Brazil", "currency": "BRL", "capital": "Brasilia", "calling_code": "+55"},
    "JP": {"name": "Japan", "currency": "JPY", "capital": "Tokyo", "calling_code": "+81"},
    "SG": {"name": "Singapore", "currency": "SGD", "capital": "Singapore", "calling_code": "+65"},
    "IN": {"name": "India", "currency": "INR", "capital": "New Delhi", "calling_code": "+91"},
    "AE": {"name": "United Arab Emirates", "currency": "AED", "capital": "Abu Dhabi", "calling_code": "+971"},
    "AU": {"name": "Australia", "currency": "AUD", "capital": "Canberra", "calling_code": "+61"},
    "EG": {"name": "Egypt", "currency": "EGP", "capital": "Cairo", "calling_code": "+20"},
}

# Currency -> (name, approximate units per USD): the centre around which seeded rates move.
CURRENCIES: dict[str, tuple[str, float]] = {
    "USD": ("US Dollar", 1.0), "EUR": ("Euro", 0.92), "GBP": ("British Pound", 0.79),
    "JPY": ("Japanese Yen", 151.0), "CHF": ("Swiss Franc", 0.88), "CAD": ("Canadian Dollar", 1.36),
    "AUD": ("Australian Dollar", 1.52), "CNY": ("Chinese Yuan", 7.2), "INR": ("Indian Rupee", 83.1),
    "BRL": ("Brazilian Real", 5.0), "MXN": ("Mexican Peso", 17.1), "SGD": ("Singapore Dollar", 1.34),
    "AED": ("UAE Dirham", 3.67), "EGP": ("Egyptian Pound", 47.0), "SEK": ("Swedish Krona", 10.4),
}

# Fictional listed companies: ticker -> (name, sector, exchange, base price in USD).
COMPANIES: dict[str, tuple[str, str, str, float]] = {
    "NWTR": ("Northwind Traders Inc.", "Consumer Staples", "NASDAQ", 84.20),
    "CNTS": ("Contoso Ltd.", "Technology", "NYSE", 312.75),
    "FBKM": ("Fabrikam Industries", "Industrials", "NYSE", 57.10),
    "ADVW": ("Adventure Works Cycles", "Consumer Discretionary", "NASDAQ", 23.45),
    "TLSP": ("Tailspin Toys Corp.", "Consumer Discretionary", "NYSE", 12.80),
    "WWIM": ("Wide World Importers", "Industrials", "NASDAQ", 41.05),
    "LTGR": ("Litware Group", "Technology", "NASDAQ", 145.60),
    "PRSW": ("Proseware Health", "Health Care", "NYSE", 98.30),
    "WGTB": ("Woodgrove Bank", "Financials", "NYSE", 66.90),
    "BLUY": ("Blue Yonder Airlines", "Industrials", "NYSE", 18.25),
    "TRYD": ("Trey Research Energy", "Energy", "NYSE", 74.40),
    "FRTH": ("Fourth Coffee Co.", "Consumer Staples", "NASDAQ", 35.15),
}
