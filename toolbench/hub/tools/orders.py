"""ShopEase Orders: a product catalogue and a stateful order system (create, list, get, cancel, track).

State is per API key: each key starts from the same seeded catalogue and a few past orders, and only sees
its own orders. Stock goes down when an order is placed and back up when it is cancelled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from toolbench.hub.base import (
    ERROR_RESPONSES,
    ErrorBody,
    HubTool,
    conflict,
    hub_clock,
    not_found,
    rng,
    tool_state,
)

SLUG = "shop"
router = APIRouter(prefix=f"/{SLUG}", tags=["ShopEase Orders"], responses=ERROR_RESPONSES)
NOT_FOUND = {404: {"model": ErrorBody, "description": "No such product or order"}}


class ProductCategory(str, Enum):
    electronics = "electronics"
    home = "home"
    books = "books"
    sports = "sports"
    toys = "toys"
    grocery = "grocery"


class OrderStatus(str, Enum):
    confirmed = "confirmed"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"


class ShippingMethod(str, Enum):
    standard = "standard"
    express = "express"
    pickup = "pickup"


class CancelReason(str, Enum):
    changed_mind = "changed_mind"
    found_cheaper = "found_cheaper"
    ordered_by_mistake = "ordered_by_mistake"
    delivery_too_slow = "delivery_too_slow"
    other = "other"


class Product(BaseModel):
    id: str
    name: str
    category: ProductCategory
    price: float = Field(description="USD")
    stock: int
    rating: float


class ProductList(BaseModel):
    count: int
    products: list[Product]


class OrderItemIn(BaseModel):
    product_id: str = Field(description="Product id from /shop/products", examples=["P1003"])
    quantity: int = Field(1, ge=1, le=20)


class Address(BaseModel):
    name: str = Field(description="Recipient", examples=["Jane Doe"])
    street: str = Field(examples=["12 Market Square"])
    city: str = Field(examples=["Lyon"])
    postal_code: str = Field(examples=["69002"])
    country_code: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2", examples=["FR"])


class OrderCreate(BaseModel):
    items: list[OrderItemIn] = Field(min_length=1, description="Products and quantities")
    shipping_address: Address
    shipping_method: ShippingMethod = ShippingMethod.standard
    coupon_code: str | None = Field(None, description="SAVE10 takes 10% off")

    model_config = {"json_schema_extra": {"examples": [{
        "items": [{"product_id": "P1003", "quantity": 2}], "shipping_method": "express",
        "shipping_address": {"name": "Jane Doe", "street": "12 Market Square", "city": "Lyon",
                             "postal_code": "69002", "country_code": "FR"}}]}}


class OrderLine(BaseModel):
    product_id: str
    name: str
    quantity: int
    unit_price: float


class Order(BaseModel):
    id: str
    status: OrderStatus
    created_at: str
    items: list[OrderLine]
    shipping_address: Address
    shipping_method: ShippingMethod
    subtotal: float
    shipping_cost: float
    discount: float
    total: float
    currency: str = "USD"
    cancel_reason: CancelReason | None = None


class OrderList(BaseModel):
    count: int
    orders: list[Order]


class CancelRequest(BaseModel):
    reason: CancelReason = Field(description="Why the order is cancelled")
    comment: str = Field("", max_length=500)


class TrackingEvent(BaseModel):
    time: str
    status: str
    location: str


class Tracking(BaseModel):
    order_id: str
    carrier: str | None
    tracking_number: str | None
    status: OrderStatus
    events: list[TrackingEvent]


_PRODUCTS = {
    ProductCategory.electronics: ["Wireless Earbuds", "USB-C Charger", "Smart Watch", "Bluetooth Speaker",
                                  "Laptop Stand"],
    ProductCategory.home: ["Ceramic Mug Set", "Desk Lamp", "Cotton Bath Towel", "Chef Knife"],
    ProductCategory.books: ["Python Cookbook", "World Atlas", "Mystery Novel Box Set"],
    ProductCategory.sports: ["Yoga Mat", "Running Socks", "Water Bottle", "Tennis Balls"],
    ProductCategory.toys: ["Building Blocks", "Puzzle 1000 pieces", "Plush Bear"],
    ProductCategory.grocery: ["Arabica Coffee Beans", "Green Tea", "Dark Chocolate"],
}
_SHIPPING = {ShippingMethod.standard: 4.99, ShippingMethod.express: 14.99, ShippingMethod.pickup: 0.0}


class Shop:
    def __init__(self, seed: int):
        self.seed = seed
        self.products: dict[str, Product] = {}
        n = 1000
        for category, names in _PRODUCTS.items():
            for name in names:
                n += 1
                r = rng(seed, SLUG, name)
                self.products[f"P{n}"] = Product(id=f"P{n}", name=name, category=category,
                                                 price=round(r.uniform(3, 180), 2), stock=r.choice([0, 3, 12, 40, 150]),
                                                 rating=round(r.uniform(3.2, 4.9), 1))
        self.orders: dict[str, Order] = {}
        self.counter = 0
        r = rng(seed, SLUG, "history")
        home = Address(name="Sandbox Customer", street="1 Example Road", city="Toronto", postal_code="M5H 2N2",
                       country_code="CA")
        for status, days_ago in ((OrderStatus.delivered, 40), (OrderStatus.shipped, 3), (OrderStatus.confirmed, 1)):
            pid = r.choice([p for p in self.products.values() if p.stock > 0]).id
            self.counter += 1
            oid = f"ORD-{self.counter:05d}"
            self.orders[oid] = self.price(oid, [OrderItemIn(product_id=pid, quantity=1)], home, ShippingMethod.standard,
                                          None, status, datetime(2025, 1, 15) - timedelta(days=days_ago))

    def product(self, pid: str) -> Product:
        if pid not in self.products:
            raise not_found("product", pid, "product ids come from /shop/products")
        return self.products[pid]

    def order(self, oid: str) -> Order:
        if oid not in self.orders:
            raise not_found("order", oid, "list your orders with /shop/orders")
        return self.orders[oid]

    def price(self, oid, items, address, method, coupon, status, when) -> Order:
        lines = [OrderLine(product_id=i.product_id, name=self.product(i.product_id).name, quantity=i.quantity,
                           unit_price=self.product(i.product_id).price) for i in items]
        subtotal = round(sum(line.unit_price * line.quantity for line in lines), 2)
        discount = round(subtotal * 0.1, 2) if (coupon or "").upper() == "SAVE10" else 0.0
        shipping = 0.0 if subtotal >= 100 and method == ShippingMethod.standard else _SHIPPING[method]
        return Order(id=oid, status=status, created_at=when.isoformat(), items=lines, shipping_address=address,
                     shipping_method=method, subtotal=subtotal, shipping_cost=shipping, discount=discount,
                     total=round(subtotal - discount + shipping, 2))


State = Annotated[Shop, Depends(tool_state(SLUG))]
Clock = Annotated[datetime, Depends(hub_clock)]
OrderP = Annotated[str, Path(description="Order id", examples=["ORD-00001"])]


@router.get("/products", operation_id="list_products", summary="Search products",
            description="Products matching a name fragment, a category and a price ceiling.")
async def products(state: State,
                   query: Annotated[str, Query(description="Part of the product name", examples=["mug"])] = "",
                   category: Annotated[ProductCategory | None, Query(description="Product category")] = None,
                   max_price: Annotated[float | None, Query(gt=0, description="Highest price, USD")] = None,
                   in_stock: Annotated[bool, Query(description="Only products in stock")] = False) -> ProductList:
    q = query.strip().lower()
    found = [p for p in state.products.values() if q in p.name.lower() and (category is None or p.category == category)
             and (max_price is None or p.price <= max_price) and (not in_stock or p.stock > 0)]
    return ProductList(count=len(found), products=found)


@router.get("/products/{product_id}", operation_id="get_product", summary="Product details",
            description="Price, stock and rating of a product.", responses=NOT_FOUND)
async def product(state: State, product_id: Annotated[str, Path(description="Product id", examples=["P1003"])],
                  ) -> Product:
    return state.product(product_id)


@router.post("/orders", operation_id="create_order", summary="Create order", status_code=201,
             description="Place an order for products in stock, shipped to an address. Stock is reserved at once.",
             responses={**NOT_FOUND, 409: {"model": ErrorBody, "description": "Not enough stock"}})
async def create_order(state: State, clock: Clock, body: OrderCreate) -> Order:
    wanted: dict[str, int] = {}
    for item in body.items:
        wanted[item.product_id] = wanted.get(item.product_id, 0) + item.quantity
    for pid, qty in wanted.items():
        p = state.product(pid)
        if p.stock < qty:
            raise conflict(f"product {pid} ({p.name}) has {p.stock} in stock, {qty} requested; lower the quantity")
    for pid, qty in wanted.items():
        state.products[pid].stock -= qty
    state.counter += 1
    oid = f"ORD-{state.counter:05d}"
    order = state.price(oid, body.items, body.shipping_address, body.shipping_method, body.coupon_code,
                        OrderStatus.confirmed, clock.replace(tzinfo=None) + timedelta(minutes=state.counter))
    state.orders[oid] = order
    return order


@router.get("/orders", operation_id="list_orders", summary="List orders",
            description="Your orders, newest first, optionally only those with a given status.")
async def list_orders(state: State,
                      status: Annotated[OrderStatus | None, Query(description="Only orders in this status")] = None,
                      limit: Annotated[int, Query(ge=1, le=100)] = 20) -> OrderList:
    found = [o for o in state.orders.values() if status is None or o.status == status]
    found.sort(key=lambda o: o.id, reverse=True)
    return OrderList(count=len(found[:limit]), orders=found[:limit])


@router.get("/orders/{order_id}", operation_id="get_order", summary="Get order",
            description="One of your orders with its items, totals and status.", responses=NOT_FOUND)
async def get_order(state: State, order_id: OrderP) -> Order:
    return state.order(order_id)


@router.post("/orders/{order_id}/cancel", operation_id="cancel_order", summary="Cancel order",
             description="Cancel an order that has not shipped yet; its stock is released.",
             responses={**NOT_FOUND, 409: {"model": ErrorBody, "description": "Already shipped or cancelled"}})
async def cancel_order(state: State, order_id: Annotated[str, Path(description="Order id (not shipped yet)",
                                                                   examples=["ORD-00003"])],
                       body: CancelRequest) -> Order:
    order = state.order(order_id)
    if order.status != OrderStatus.confirmed:
        raise conflict(f"order {order_id} is {order.status.value} and can no longer be cancelled"
                       + ("; request a return instead" if order.status != OrderStatus.cancelled else ""))
    for line in order.items:
        state.products[line.product_id].stock += line.quantity
    order.status = OrderStatus.cancelled
    order.cancel_reason = body.reason
    return order


@router.get("/orders/{order_id}/tracking", operation_id="track_order", summary="Track order",
            description="Carrier, tracking number and delivery events of an order.", responses=NOT_FOUND)
async def track(state: State, order_id: OrderP) -> Tracking:
    order = state.order(order_id)
    created = datetime.fromisoformat(order.created_at)
    events = [TrackingEvent(time=created.isoformat(), status="order confirmed", location="ShopEase")]
    shipped = order.status in (OrderStatus.shipped, OrderStatus.delivered)
    if order.status == OrderStatus.cancelled:
        events.append(TrackingEvent(time=created.isoformat(), status="order cancelled", location="ShopEase"))
    if shipped:
        events.append(TrackingEvent(time=(created + timedelta(days=1)).isoformat(), status="handed to carrier",
                                    location="Distribution center"))
    if order.status == OrderStatus.delivered:
        events.append(TrackingEvent(time=(created + timedelta(days=4)).isoformat(), status="delivered",
                                    location=order.shipping_address.city))
    r = rng(state.seed, SLUG, "track", order.id)
    return Tracking(order_id=order.id, status=order.status, events=events,
                    carrier=r.choice(["UPS", "DHL", "FedEx"]) if shipped else None,
                    tracking_number=f"1Z{r.randint(10**9, 10**10 - 1)}" if shipped else None)


TOOL = HubTool(slug=SLUG, name="ShopEase Orders", category="eCommerce",
               description="Online shop: search products, place orders with a shipping address and method, list "
                           "and look up your orders, cancel unshipped ones and track deliveries.",
               router=router, make_state=Shop, stateful=True)
