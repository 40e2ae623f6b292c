package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.ArrayList;
import java.util.List;

/** RequestHandler with POJOs in and out, serialised by the runtime. */
public class Orders implements RequestHandler<Orders.Order, Orders.Receipt> {

    public static class Item {
        private String sku;
        private int quantity;
        private double price;

        public String getSku() { return sku; }
        public void setSku(String sku) { this.sku = sku; }
        public int getQuantity() { return quantity; }
        public void setQuantity(int quantity) { this.quantity = quantity; }
        public double getPrice() { return price; }
        public void setPrice(double price) { this.price = price; }
    }

    public static class Order {
        private String orderId;
        private String customer;
        private List<Item> items = new ArrayList<>();

        public String getOrderId() { return orderId; }
        public void setOrderId(String orderId) { this.orderId = orderId; }
        public String getCustomer() { return customer; }
        public void setCustomer(String customer) { this.customer = customer; }
        public List<Item> getItems() { return items; }
        public void setItems(List<Item> items) { this.items = items; }
    }

    public static class Receipt {
        private String orderId;
        private int itemCount;
        private double total;
        private boolean paid;
        private String note;  // left null: not in the output
        private List<String> skus = new ArrayList<>();

        public String getOrderId() { return orderId; }
        public void setOrderId(String orderId) { this.orderId = orderId; }
        public int getItemCount() { return itemCount; }
        public void setItemCount(int itemCount) { this.itemCount = itemCount; }
        public double getTotal() { return total; }
        public void setTotal(double total) { this.total = total; }
        public boolean isPaid() { return paid; }
        public void setPaid(boolean paid) { this.paid = paid; }
        public String getNote() { return note; }
        public void setNote(String note) { this.note = note; }
        public List<String> getSkus() { return skus; }
        public void setSkus(List<String> skus) { this.skus = skus; }
    }

    @Override
    public Receipt handleRequest(Order order, Context context) {
        Receipt receipt = new Receipt();
        receipt.setOrderId(order.getOrderId());
        for (Item item : order.getItems()) {
            receipt.setItemCount(receipt.getItemCount() + item.getQuantity());
            receipt.setTotal(receipt.getTotal() + item.getQuantity() * item.getPrice());
            receipt.getSkus().add(item.getSku());
        }
        receipt.setPaid(true);
        return receipt;
    }
}
