package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/** RequestHandler with a JSON object as a map in, and a string out. */
public class Hello implements RequestHandler<Map<String, Object>, String> {
    @Override
    public String handleRequest(Map<String, Object> event, Context context) {
        System.out.println("hello-line " + event.get("name"));
        return "Hello, " + event.get("name") + "!";
    }
}
