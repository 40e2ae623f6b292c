// An external extension in the shape of AWS's go-example-extension (aws-samples/aws-lambda-extensions):
// a small client of the Extensions API that registers by its file name, then processes events until
// SHUTDOWN. Each event is printed and appended to /tmp/extension-events.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

const extensionNameHeader = "Lambda-Extension-Name"
const extensionIdentiferHeader = "Lambda-Extension-Identifier"

type RegisterResponse struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
}

type NextEventResponse struct {
	EventType          string `json:"eventType"`
	DeadlineMs         int64  `json:"deadlineMs"`
	RequestID          string `json:"requestId"`
	InvokedFunctionArn string `json:"invokedFunctionArn"`
	ShutdownReason     string `json:"shutdownReason"`
}

type Client struct {
	baseURL     string
	httpClient  *http.Client
	extensionID string
}

func NewClient(awsLambdaRuntimeAPI string) *Client {
	return &Client{baseURL: fmt.Sprintf("http://%s/2020-01-01/extension", awsLambdaRuntimeAPI), httpClient: &http.Client{}}
}

func (e *Client) Register(ctx context.Context, filename string) (*RegisterResponse, error) {
	body, _ := json.Marshal(map[string]interface{}{"events": []string{"INVOKE", "SHUTDOWN"}})
	req, err := http.NewRequestWithContext(ctx, "POST", e.baseURL+"/register", bytes.NewBuffer(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set(extensionNameHeader, filename)
	resp, err := e.httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("request failed with status %s", resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	res := RegisterResponse{}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, err
	}
	e.extensionID = resp.Header.Get(extensionIdentiferHeader)
	return &res, nil
}

func (e *Client) NextEvent(ctx context.Context) (*NextEventResponse, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", e.baseURL+"/event/next", nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set(extensionIdentiferHeader, e.extensionID)
	resp, err := e.httpClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, nil, fmt.Errorf("request failed with status %s", resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	res := NextEventResponse{}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, nil, err
	}
	return &res, data, nil
}

func main() {
	name := filepath.Base(os.Args[0])
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		cancel()
		fmt.Println(name, "Received", s)
	}()

	client := NewClient(os.Getenv("AWS_LAMBDA_RUNTIME_API"))
	res, err := client.Register(ctx, name)
	if err != nil {
		panic(err)
	}
	fmt.Printf("[%s] Register response: %s/%s\n", name, res.FunctionName, res.FunctionVersion)
	for {
		select {
		case <-ctx.Done():
			return
		default:
			event, raw, err := client.NextEvent(ctx)
			if err != nil {
				fmt.Println(name, "Error:", err)
				return
			}
			f, err := os.OpenFile("/tmp/extension-events", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				f.Write(append(raw, '\n'))
				f.Close()
			}
			fmt.Printf("[%s] Event: %s\n", name, raw)
			if event.EventType == "SHUTDOWN" {
				fmt.Printf("[%s] Shutting down\n", name)
				return
			}
		}
	}
}
