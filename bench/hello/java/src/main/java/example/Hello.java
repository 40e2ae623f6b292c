package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

// A handler as AWS documents them for Java: a RequestHandler from aws-lambda-java-core.
// Handler value: example.Hello::handleRequest
public class Hello implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        return Map.of("statusCode", 200, "body", "\"Hello from Lambda!\"");
    }
}
