// A Go function for Lamina's tests, written against aws-lambda-go exactly as for AWS Lambda:
// lambda.Start with a handler taking a context and a struct, returning a struct and an error.
// The event's Action chooses what it does.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type Request struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	Sleep  int    `json:"sleepMs"`
}

type Response struct {
	Greeting           string `json:"greeting"`
	Invocations        int    `json:"invocations"`
	AwsRequestID       string `json:"awsRequestId"`
	InvokedFunctionArn string `json:"invokedFunctionArn"`
	FunctionName       string `json:"functionName"`
	FunctionVersion    string `json:"functionVersion"`
	MemoryLimitInMB    int    `json:"memoryLimitInMB"`
	LogStreamName      string `json:"logStreamName"`
	DeadlineMs         int64  `json:"deadlineMs"`
	RemainingMs        int64  `json:"remainingMs"`
	TraceID            string `json:"traceId"`
	Handler            string `json:"handler"`
	TaskRoot           string `json:"taskRoot"`
	Cwd                string `json:"cwd"`
}

// OrderError is a function's own error type: aws-lambda-go reports its type name.
type OrderError struct{ ID int }

func (e *OrderError) Error() string { return fmt.Sprintf("order %d not found", e.ID) }

var invocations int // package state survives between invocations of a warm environment

func handle(ctx context.Context, req Request) (Response, error) {
	invocations++
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return Response{}, errors.New("no Lambda context")
	}
	deadline, _ := ctx.Deadline()
	switch req.Action {
	case "error":
		return Response{}, errors.New("something went wrong: " + req.Name)
	case "custom-error":
		return Response{}, &OrderError{ID: 42}
	case "panic":
		panic("unexpected state: " + req.Name)
	case "sleep":
		fmt.Printf("sleeping %s\n", lc.AwsRequestID)
		select {
		case <-time.After(time.Duration(req.Sleep) * time.Millisecond):
		case <-ctx.Done():
			return Response{}, ctx.Err()
		}
	}
	fmt.Printf("greeting %s in %s\n", req.Name, lc.AwsRequestID)
	cwd, _ := os.Getwd()
	return Response{
		Greeting:           "Hello, " + req.Name + "!",
		Invocations:        invocations,
		AwsRequestID:       lc.AwsRequestID,
		InvokedFunctionArn: lc.InvokedFunctionArn,
		FunctionName:       lambdacontext.FunctionName,
		FunctionVersion:    lambdacontext.FunctionVersion,
		MemoryLimitInMB:    lambdacontext.MemoryLimitInMB,
		LogStreamName:      lambdacontext.LogStreamName,
		DeadlineMs:         deadline.UnixMilli(),
		RemainingMs:        time.Until(deadline).Milliseconds(),
		TraceID:            os.Getenv("_X_AMZN_TRACE_ID"),
		Handler:            os.Getenv("_HANDLER"),
		TaskRoot:           os.Getenv("LAMBDA_TASK_ROOT"),
		Cwd:                cwd,
	}, nil
}

func main() {
	lambda.Start(handle)
}
