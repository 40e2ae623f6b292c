package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** RequestStreamHandler: the raw event bytes in, raw bytes out. */
public class Upper implements RequestStreamHandler {
    @Override
    public void handleRequest(InputStream input, OutputStream output, Context context) throws IOException {
        String event = new String(input.readAllBytes(), StandardCharsets.UTF_8);
        output.write(("{\"upper\": " + event.toUpperCase() + ", \"bytes\": " + event.length() + "}")
                .getBytes(StandardCharsets.UTF_8));
    }
}
