// Entry point for `azd provision` / `azd up`: a resource group named after the azd environment, and in
// it everything the app needs (resources.bicep). Parameter values come from main.parameters.json,
// which azd fills from the environment (`azd env get-values`).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment (AZURE_ENV_NAME). Names the resource group and seeds a short hash that keeps every resource name unique.')
param environmentName string

@minLength(1)
@description('Azure region for every resource. It must offer the Flex Consumption plan: az functionapp list-flexconsumption-locations')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person running azd (AZURE_PRINCIPAL_ID, set by azd). With shared keys off, this is what lets you read the task hub (tables, queues, blobs) in the portal or Storage Explorer. Empty: no access granted.')
param principalId string = ''

@description('Name of the resource group to create. Default: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Python version of the Functions runtime. Keep it equal to the version in README.md and pyproject.toml.')
@allowed([
  '3.10'
  '3.11'
  '3.12'
])
param pythonVersion string = '3.11'

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most instances the app may scale out to. A low cap bounds the cost of a demo.')
@maxValue(1000)
param maximumInstanceCount int = 40

@description('App setting RESERVATION_DEADLINE_SECONDS: how long ReserveTicket waits for BookingConfirmed.')
@minValue(1)
param reservationDeadlineSeconds int = 60

@description('App setting CITY_SELECTION_DEADLINE_SECONDS: how long CityRecommender waits for CitySelected.')
@minValue(1)
param citySelectionDeadlineSeconds int = 300

var tags = {
  'azd-env-name': environmentName
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'resources'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: toLower(uniqueString(subscription().id, environmentName, location))
    principalId: principalId
    pythonVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    reservationDeadlineSeconds: reservationDeadlineSeconds
    citySelectionDeadlineSeconds: citySelectionDeadlineSeconds
  }
}

// azd stores every output in the environment (.azure/<env>/.env); `azd env get-values` prints them.
@description('Region the resources were created in.')
output AZURE_LOCATION string = location

@description('Tenant of the subscription.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Resource group holding every resource; `azd down` deletes it.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Name of the function app, for az functionapp commands.')
output AZURE_FUNCTION_APP_NAME string = resources.outputs.functionAppName

@description('Base URL of the function app: the @base of requests.http, the $base of the walk-through.')
output AZURE_FUNCTION_APP_URL string = resources.outputs.functionAppUrl

@description('Storage account holding the task hub and the deployment package.')
output AZURE_STORAGE_ACCOUNT_NAME string = resources.outputs.storageAccountName

@description('Client id of the app\'s user-assigned managed identity.')
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = resources.outputs.identityClientId

@description('Application Insights resource receiving the app\'s logs and traces.')
output APPLICATIONINSIGHTS_NAME string = resources.outputs.applicationInsightsName
