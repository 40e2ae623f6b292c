package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

// Handler value: example.Fail::handleRequest
public class Fail implements RequestHandler<Map<String, String>, String> {
    @Override
    public String handleRequest(Map<String, String> event, Context context) {
        System.out.println("about to fail");
        return parse(event.getOrDefault("number", "not a number"));
    }

    private static String parse(String number) {
        if (number.isEmpty()) {
            throw new RuntimeException("Something went wrong: no number given");
        }
        return String.valueOf(Integer.parseInt(number) * 2);  // throws NumberFormatException
    }
}
