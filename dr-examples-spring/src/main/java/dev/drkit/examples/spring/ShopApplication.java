package dev.drkit.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.scheduling.annotation.EnableScheduling;

/**
 * The shop: orders in PostgreSQL, one new order a second. Its database is backed up by drkit's
 * starter as {@code application.yaml} says; nothing in the code mentions drkit.
 */
@SpringBootApplication
@EnableScheduling
public class ShopApplication {
    public static void main(String[] args) {
        SpringApplication app = new SpringApplication(ShopApplication.class);
        app.addInitializers(new ShopDatabase());
        app.run(args);
    }
}
