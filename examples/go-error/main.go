// A Go function that fails, to see how Lambda reports Go errors.
//
//   {"amount": 500}                    returns an error of its own type:
//                                      {"errorMessage": "...", "errorType": "InsufficientFundsError"}
//   {"amount": 5, "currency": "???"}   returns errors.New(...): errorType "errorString"
//   {"panic": true}                    dereferences a nil pointer: a panic, reported with the panic
//                                      value's type ("errorString" here; "string" for panic("..."))
//                                      and a stackTrace; then the runtime exits, so the next
//                                      invocation starts a new environment
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
)

type Withdrawal struct {
	Amount   int    `json:"amount"`
	Currency string `json:"currency"`
	Panic    bool   `json:"panic"`
}

type InsufficientFundsError struct {
	Balance, Amount int
}

func (e *InsufficientFundsError) Error() string {
	return fmt.Sprintf("cannot withdraw %d: the balance is %d", e.Amount, e.Balance)
}

const balance = 100

func HandleRequest(ctx context.Context, w Withdrawal) (map[string]int, error) {
	if w.Panic {
		var accounts map[string]*int
		return map[string]int{"balance": *accounts["missing"]}, nil // nil pointer dereference
	}
	if w.Currency != "" && w.Currency != "EUR" {
		return nil, errors.New("unsupported currency " + w.Currency)
	}
	if w.Amount > balance {
		return nil, &InsufficientFundsError{Balance: balance, Amount: w.Amount}
	}
	return map[string]int{"balance": balance - w.Amount}, nil
}

func main() {
	lambda.Start(HandleRequest)
}
