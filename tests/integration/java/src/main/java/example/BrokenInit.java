package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/** Its constructor throws: the environment fails to initialise. */
public class BrokenInit implements RequestHandler<Map<String, Object>, String> {
    public BrokenInit() {
        throw new IllegalStateException("no configuration");
    }

    @Override
    public String handleRequest(Map<String, Object> event, Context context) {
        return "unreachable";
    }
}
