package dev.drkit.examples.spring;

import java.util.Map;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** The shop's business: an order a second, and {@code GET /orders} for how many there are. */
@RestController
public class Orders {
    private final JdbcTemplate jdbc;
    private volatile boolean ready;

    public Orders(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
        jdbc.execute("CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, item text NOT NULL, "
                + "placed_at timestamptz NOT NULL DEFAULT now())");
    }

    @EventListener(ApplicationReadyEvent.class)
    void open() {
        ready = true;
    }

    @Scheduled(fixedRate = 1000)
    void placeOrder() {
        if (ready) {
            jdbc.update("INSERT INTO orders (item) VALUES (?)", "coffee beans");
        }
    }

    @GetMapping("/orders")
    public Map<String, Object> count() {
        return Map.of("orders", jdbc.queryForObject("SELECT count(*) FROM orders", Long.class));
    }
}
