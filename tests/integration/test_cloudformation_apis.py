"""API Gateway's CloudFormation types against a real server: the resources SAM's translator emits
for an ``HttpApi`` event and an ``Api`` event (an OpenAPI Body, a stage, a deployment, the
function's permission), and APIs spelled resource by resource (routes, integrations, authorizers,
methods, quick create); the stacks' endpoints answer through the APIs, updates change what they
serve, and deletes leave no API, stage or permission behind."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess
from tests.integration.test_cloudformation import FAST, client, settled
from tests.integration.test_http_apis import call

CODE = """import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"said": "MARK", "path": event.get("rawPath") or event.get("path"),
                                                   "version": event.get("version")})}
"""


def function(mark: str = "one") -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "python3.12", "Handler": "index.handler", "Role": "arn:aws:iam::000000000000:role/lamina-test",
        "Code": {"ZipFile": CODE.replace("MARK", mark)}}}  # fmt: skip


def invocation_uri(partition: str = "${AWS::Partition}") -> dict[str, Any]:
    return {"Fn::Sub": "arn:" + partition + ":apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                       "${HelloFunction.Arn}/invocations"}  # fmt: skip


def sam_http_api(path: str, mark: str = "one") -> dict[str, Any]:
    """What SAM's translator makes of a function with an ``HttpApi`` event (``Path: path``, ``Method: get``)."""
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "HelloFunction": function(mark),
        "HelloFunctionHelloPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "HelloFunction"},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": ["arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                      "${__ApiId__}/${__Stage__}/GET" + path,
                                      {"__ApiId__": {"Ref": "ServerlessHttpApi"}, "__Stage__": "*"}]}}},
        "ServerlessHttpApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": {
            "info": {"version": "1.0", "title": {"Ref": "AWS::StackName"}},
            "paths": {path: {"get": {"x-amazon-apigateway-integration": {
                "httpMethod": "POST", "type": "aws_proxy", "uri": invocation_uri(), "payloadFormatVersion": "2.0"},
                "responses": {}}}},
            "openapi": "3.0.1",
            "tags": [{"name": "httpapi:createdBy", "x-amazon-apigateway-tag-value": "SAM"}]}}},
        "ServerlessHttpApiApiGatewayDefaultStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
            "ApiId": {"Ref": "ServerlessHttpApi"}, "StageName": "$default", "Tags": {"httpapi:createdBy": "SAM"},
            "AutoDeploy": True}},
    }, "Outputs": {
        "Endpoint": {"Value": {"Fn::GetAtt": ["ServerlessHttpApi", "ApiEndpoint"]}},
        "ApiId": {"Value": {"Ref": "ServerlessHttpApi"}},
    }}  # fmt: skip


def sam_rest_api(path: str, deployment: str, mark: str = "one") -> dict[str, Any]:
    """What SAM's translator makes of a function with an ``Api`` event (``Path: path``, ``Method: get``):
    a Swagger Body, a deployment named after its hash, the ``Prod`` stage, the permission."""
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "HelloFunction": function(mark),
        "HelloFunctionHelloPermissionProd": {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "HelloFunction"},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": ["arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                      "${__ApiId__}/${__Stage__}/GET" + path,
                                      {"__ApiId__": {"Ref": "ServerlessRestApi"}, "__Stage__": "*"}]}}},
        "ServerlessRestApi": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Body": {
            "info": {"version": "1.0", "title": {"Ref": "AWS::StackName"}},
            "paths": {path: {"get": {"x-amazon-apigateway-integration": {
                "httpMethod": "POST", "type": "aws_proxy", "uri": invocation_uri("aws")}, "responses": {}}}},
            "swagger": "2.0"}}},
        f"ServerlessRestApiDeployment{deployment}": {"Type": "AWS::ApiGateway::Deployment", "Properties": {
            "RestApiId": {"Ref": "ServerlessRestApi"}, "Description": f"RestApi deployment id: {deployment}",
            "StageName": "Stage"}},
        "ServerlessRestApiProdStage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
            "DeploymentId": {"Ref": f"ServerlessRestApiDeployment{deployment}"},
            "RestApiId": {"Ref": "ServerlessRestApi"}, "StageName": "Prod"}},
    }, "Outputs": {
        "ApiId": {"Value": {"Ref": "ServerlessRestApi"}},
        "Root": {"Value": {"Fn::GetAtt": ["ServerlessRestApi", "RootResourceId"]}},
    }}  # fmt: skip


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def deployed(cfn: Any, name: str, template: dict[str, Any], *, update: bool = False) -> dict[str, str]:
    (cfn.update_stack if update else cfn.create_stack)(StackName=name, TemplateBody=json.dumps(template))
    stack = settled(cfn, name)
    assert stack["StackStatus"] == ("UPDATE_COMPLETE" if update else "CREATE_COMPLETE"), stack.get("StackStatusReason")
    return outputs(stack)


def rest_endpoint(lamina: LaminaProcess, api_id: str) -> str:
    return f"http://{api_id}.execute-api.localhost:{lamina.endpoint.rsplit(':', 1)[1]}"


def test_sams_http_api_resources_deploy_update_and_delete(lamina: LaminaProcess) -> None:
    cfn, gw, lam = client(lamina, "cloudformation"), client(lamina, "apigatewayv2"), client(lamina, "lambda")
    found = deployed(cfn, "sam-http", sam_http_api("/hello"))
    api_id, endpoint = found["ApiId"], found["Endpoint"]
    assert endpoint == gw.get_api(ApiId=api_id)["ApiEndpoint"]
    assert gw.get_api(ApiId=api_id)["Name"] == "sam-http" and gw.get_tags(ResourceArn=f"arn:aws:apigateway:us-east-1::/apis/{api_id}")["Tags"] == {"httpapi:createdBy": "SAM"}
    answer = call(endpoint, "GET", "/hello")
    assert answer.status == 200 and answer.json() == {"said": "one", "path": "/hello", "version": "2.0"}
    function_name = cfn.describe_stack_resource(StackName="sam-http", LogicalResourceId="HelloFunction")[
        "StackResourceDetail"]["PhysicalResourceId"]
    assert "apigateway.amazonaws.com" in lam.get_policy(FunctionName=function_name)["Policy"]

    deployed(cfn, "sam-http", sam_http_api("/greet", "two"), update=True)
    assert call(endpoint, "GET", "/greet").json()["said"] == "two"  # the same API, its definition reimported
    assert call(endpoint, "GET", "/hello").status == 404
    assert [r["RouteKey"] for r in gw.get_routes(ApiId=api_id)["Items"]] == ["GET /greet"]
    assert len(gw.get_integrations(ApiId=api_id)["Items"]) == 1
    statements = json.loads(lam.get_policy(FunctionName=function_name)["Policy"])["Statement"]
    assert [s["Condition"]["ArnLike"]["AWS:SourceArn"].endswith("/GET/greet") for s in statements] == [True]

    cfn.delete_stack(StackName="sam-http")
    cfn.get_waiter("stack_delete_complete").wait(StackName="sam-http", WaiterConfig=FAST)
    assert api_id not in [a["ApiId"] for a in gw.get_apis()["Items"]]
    with pytest.raises(ClientError):
        lam.get_function(FunctionName=function_name)


def test_sams_rest_api_resources_deploy_update_and_delete(lamina: LaminaProcess) -> None:
    cfn, gw = client(lamina, "cloudformation"), client(lamina, "apigateway")
    found = deployed(cfn, "sam-rest", sam_rest_api("/hello", "47fc2d5f9d"))
    api_id = found["ApiId"]
    assert found["Root"] == gw.get_rest_api(restApiId=api_id)["rootResourceId"]
    assert sorted(s["stageName"] for s in gw.get_stages(restApiId=api_id)["item"]) == ["Prod", "Stage"]
    answer = call(rest_endpoint(lamina, api_id), "GET", "/Prod/hello")
    assert answer.status == 200 and answer.json()["said"] == "one"

    # SAM names the deployment after the definition's hash: a new one replaces it, the stage moves to it.
    deployed(cfn, "sam-rest", sam_rest_api("/greet", "9b1e0c2a77", "two"), update=True)
    assert call(rest_endpoint(lamina, api_id), "GET", "/Prod/greet").json()["said"] == "two"
    assert call(rest_endpoint(lamina, api_id), "GET", "/Prod/hello").status in (403, 404)
    assert len(gw.get_deployments(restApiId=api_id)["items"]) == 1  # the old one went in the cleanup
    assert sorted(r["path"] for r in gw.get_resources(restApiId=api_id)["items"]) == ["/", "/greet"]

    cfn.delete_stack(StackName="sam-rest")
    cfn.get_waiter("stack_delete_complete").wait(StackName="sam-rest", WaiterConfig=FAST)
    assert api_id not in [a["id"] for a in gw.get_rest_apis()["items"]]


def spelled_out(mark: str) -> dict[str, Any]:
    """An HTTP API and a REST API resource by resource, and a quick-created HTTP API."""
    uri = invocation_uri()
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "HelloFunction": function(mark),
        "Http": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "spelled", "ProtocolType": "HTTP",
                                                                  "CorsConfiguration": {"AllowOrigins": ["https://a.example"]}}},
        "HttpIntegration": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
            "ApiId": {"Ref": "Http"}, "IntegrationType": "AWS_PROXY", "IntegrationUri": {"Fn::GetAtt": ["HelloFunction", "Arn"]},
            "PayloadFormatVersion": "1.0" if mark == "one" else "2.0", "TimeoutInMillis": 5000}},
        "HttpAuthorizer": {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {
            "ApiId": {"Ref": "Http"}, "Name": "jwt", "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {"Issuer": "https://issuer.example", "Audience": ["spelled"]}}},
        "HttpRoute": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
            "ApiId": {"Ref": "Http"}, "RouteKey": "GET /items/{id}",
            "Target": {"Fn::Sub": "integrations/${HttpIntegration}"}}},
        "HttpGuarded": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
            "ApiId": {"Ref": "Http"}, "RouteKey": "GET /guarded", "AuthorizationType": "JWT",
            "AuthorizerId": {"Ref": "HttpAuthorizer"}, "Target": {"Fn::Sub": "integrations/${HttpIntegration}"}}},
        "HttpDeployment": {"Type": "AWS::ApiGatewayV2::Deployment", "DependsOn": ["HttpRoute", "HttpGuarded"],
                           "Properties": {"ApiId": {"Ref": "Http"}}},
        "HttpStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
            "ApiId": {"Ref": "Http"}, "StageName": "live", "DeploymentId": {"Ref": "HttpDeployment"}}},
        "Quick": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
            "Name": "quick", "ProtocolType": "HTTP", "Target": {"Fn::GetAtt": ["HelloFunction", "Arn"]}}},
        "Rest": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "spelled-rest"}},
        "RestItems": {"Type": "AWS::ApiGateway::Resource", "Properties": {
            "RestApiId": {"Ref": "Rest"}, "ParentId": {"Fn::GetAtt": ["Rest", "RootResourceId"]}, "PathPart": "items"}},
        "RestGet": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "Rest"}, "ResourceId": {"Ref": "RestItems"}, "HttpMethod": "GET",
            "AuthorizationType": "NONE", "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri}}},
        # SAM's CORS preflight, spelled out: a MOCK integration and its integration response.
        "RestOptions": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "Rest"}, "ResourceId": {"Ref": "RestItems"}, "HttpMethod": "OPTIONS",
            "AuthorizationType": "NONE", "Integration": {
                "Type": "MOCK", "RequestTemplates": {"application/json": '{"statusCode": 200}'},
                "IntegrationResponses": [{"StatusCode": "200", "ResponseTemplates": {"application/json": ""},
                                          "ResponseParameters": {"method.response.header.Access-Control-Allow-Origin": "'*'"}}]}}},
        "RestKeyed": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "Rest"}, "ResourceId": {"Ref": "RestItems"}, "HttpMethod": "POST",
            "AuthorizationType": "NONE", "ApiKeyRequired": True,
            "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri}}},
        "RestDeployment": {"Type": "AWS::ApiGateway::Deployment", "DependsOn": ["RestGet", "RestOptions", "RestKeyed"],
                           "Properties": {"RestApiId": {"Ref": "Rest"}}},
        "RestStage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
            "RestApiId": {"Ref": "Rest"}, "StageName": "v1", "DeploymentId": {"Ref": "RestDeployment"},
            "Variables": {"mark": mark}}},
    }, "Outputs": {
        "Http": {"Value": {"Fn::GetAtt": ["Http", "ApiEndpoint"]}},
        "Quick": {"Value": {"Fn::GetAtt": ["Quick", "ApiEndpoint"]}},
        "Rest": {"Value": {"Ref": "Rest"}},
        "Route": {"Value": {"Ref": "HttpRoute"}},
        "Stage": {"Value": {"Ref": "HttpStage"}},
    }}  # fmt: skip


def test_apis_spelled_resource_by_resource(lamina: LaminaProcess) -> None:
    cfn, v2, v1 = client(lamina, "cloudformation"), client(lamina, "apigatewayv2"), client(lamina, "apigateway")
    before = (len(v2.get_apis()["Items"]), len(v1.get_rest_apis()["items"]))
    found = deployed(cfn, "spelled", spelled_out("one"))
    assert found["Stage"] == "live"
    http_id = found["Http"].split("//")[1].split(".")[0]
    assert found["Route"] in [r["RouteId"] for r in v2.get_routes(ApiId=http_id)["Items"]]
    assert call(found["Http"], "GET", "/live/items/3").json() == {"said": "one", "path": "/live/items/3", "version": "1.0"}
    assert call(found["Http"], "GET", "/live/guarded").status == 401
    assert call(found["Quick"], "GET", "/anything").json()["said"] == "one"
    assert call(rest_endpoint(lamina, found["Rest"]), "GET", "/v1/items").json()["said"] == "one"
    preflight = call(rest_endpoint(lamina, found["Rest"]), "OPTIONS", "/v1/items")
    assert (preflight.status, preflight.headers["Access-Control-Allow-Origin"]) == (200, "*")
    assert call(rest_endpoint(lamina, found["Rest"]), "POST", "/v1/items").status == 403  # its API key: none is valid

    deployed(cfn, "spelled", spelled_out("two"), update=True)
    integration = v2.get_integrations(ApiId=http_id)["Items"][0]
    assert (integration["PayloadFormatVersion"], integration["TimeoutInMillis"]) == ("2.0", 5000)
    assert call(rest_endpoint(lamina, found["Rest"]), "GET", "/v1/items").json()["said"] == "two"
    assert v1.get_stage(restApiId=found["Rest"], stageName="v1")["variables"] == {"mark": "two"}

    cfn.delete_stack(StackName="spelled")
    cfn.get_waiter("stack_delete_complete").wait(StackName="spelled", WaiterConfig=FAST)
    assert (len(v2.get_apis()["Items"]), len(v1.get_rest_apis()["items"])) == before


def test_a_body_cloudformation_cannot_import_fails_and_rolls_back(lamina: LaminaProcess) -> None:
    cfn, v2 = client(lamina, "cloudformation"), client(lamina, "apigatewayv2")
    before = len(v2.get_apis()["Items"])
    template = sam_http_api("/hello")
    body = template["Resources"]["ServerlessHttpApi"]["Properties"]["Body"]
    body["paths"]["/hello"]["get"]["x-amazon-apigateway-integration"]["uri"] = (
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:999999999999:"
        "function:elsewhere/invocations")
    cfn.create_stack(StackName="sam-foreign", TemplateBody=json.dumps(template))
    stack = settled(cfn, "sam-foreign")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="sam-foreign")["StackEvents"]
               if e["LogicalResourceId"] == "ServerlessHttpApi" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert reasons and "999999999999" in reasons[0]
    assert len(v2.get_apis()["Items"]) == before
    cfn.delete_stack(StackName="sam-foreign")


def test_api_resources_are_made_with_the_callers_permissions(make_server: Any) -> None:
    root_key, root_secret, acct = "AKIAROOTKEYEXAMPLE03", "root-secret-for-the-api-stack-tests-00", "000000000000"
    server = make_server(LAMINA_ACCESS_KEYS=f"{root_key}:{root_secret}:{acct}")
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=root_key,
                       aws_secret_access_key=root_secret)  # fmt: skip
    iam.create_user(UserName="deployer")
    # Stacks, and HTTP APIs (the resources the apigatewayv2 API names them by): not REST APIs.
    iam.put_user_policy(UserName="deployer", PolicyName="apis", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "apigateway:*", "Resource": "arn:aws:apigateway:us-east-1::/v2/apis*"}]}))
    key = iam.create_access_key(UserName="deployer")["AccessKey"]
    as_deployer = {"endpoint_url": server.endpoint, "region_name": "us-east-1", "aws_access_key_id": key["AccessKeyId"],
                   "aws_secret_access_key": key["SecretAccessKey"], "config": Config(retries={"max_attempts": 0})}
    cfn, v2 = boto3.client("cloudformation", **as_deployer), boto3.client("apigatewayv2", **as_deployer)
    http = {"Resources": {"Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "mine", "ProtocolType": "HTTP"}},
                          "Route": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
                              "ApiId": {"Ref": "Api"}, "RouteKey": "GET /x"}}}}  # fmt: skip
    deployed(cfn, "http-only", http)
    assert [a["Name"] for a in v2.get_apis()["Items"]] == ["mine"]  # what the stack may make, the caller may read
    rest = {"Resources": {"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "not-mine"}}}}
    cfn.create_stack(StackName="rest-too", TemplateBody=json.dumps(rest))
    assert settled(cfn, "rest-too")["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="rest-too")["StackEvents"]
               if e["ResourceStatus"] == "CREATE_FAILED"]
    assert reasons and "is not authorized to perform: apigateway:POST" in reasons[0]
    for name in ("http-only", "rest-too"):
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    assert v2.get_apis()["Items"] == []
