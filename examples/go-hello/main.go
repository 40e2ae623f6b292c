// A first Go function for Lambda: greets whoever the event names. Built with aws-lambda-go and
// deployed unchanged to AWS Lambda or to Lamina, as a provided.al2023 function.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type MyEvent struct {
	Name string `json:"name"`
}

type MyResponse struct {
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
	Function  string `json:"function"`
}

var invocations int // package state survives between invocations of a warm environment

func HandleRequest(ctx context.Context, event *MyEvent) (*MyResponse, error) {
	if event == nil {
		return nil, fmt.Errorf("received nil event")
	}
	invocations++
	name := event.Name
	if name == "" {
		name = "world"
	}
	lc, _ := lambdacontext.FromContext(ctx)
	log.Printf("Greeting %s (invocation %d of this environment)", name, invocations)
	return &MyResponse{
		Message:   fmt.Sprintf("Hello, %s!", name),
		RequestID: lc.AwsRequestID,
		Function:  lambdacontext.FunctionName,
	}, nil
}

func main() {
	lambda.Start(HandleRequest)
}
