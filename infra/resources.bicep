// Everything the app needs, in one resource group: a Flex Consumption function app that reaches its
// storage account and Application Insights with a user-assigned managed identity only. The storage
// account accepts no shared keys and Application Insights no instrumentation-key ingestion, so no
// secret exists anywhere: access is the role assignments at the end of this file.

@description('Azure region for every resource.')
param location string

@description('Tags for every resource; azd finds its environment by azd-env-name.')
param tags object

@description('Short lowercase hash that keeps resource names unique (uniqueString of subscription, environment and region).')
param resourceToken string

@description('Object id of a person (or service principal) who gets the same storage data roles as the app. Empty: none.')
param principalId string

@description('Python version of the Functions runtime.')
param pythonVersion string

@description('Memory of each Flex Consumption instance, in MB.')
param instanceMemoryMB int

@description('Most instances the app may scale out to.')
param maximumInstanceCount int

@description('Value of the app setting RESERVATION_DEADLINE_SECONDS.')
param reservationDeadlineSeconds int

@description('Value of the app setting CITY_SELECTION_DEADLINE_SECONDS.')
param citySelectionDeadlineSeconds int

// azure.yaml deploys its service "api" to the resource carrying this tag.
var serviceName = 'api'

// Flex Consumption runs the app from a zip package in this blob container.
var deploymentContainerName = 'app-package'

// Built-in role definition ids; they are the same in every tenant.
// Durable Functions' Azure Storage provider uses all three services: blobs (leases, large messages),
// queues (control and work-item queues) and tables (History and Instances). The host needs Owner on
// blobs, not Contributor, and the same role lets Flex Consumption read the deployment package.
var storageRoleIds = [
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
]
// With local authentication off, telemetry is accepted only from an identity holding this role.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${resourceToken}'
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${resourceToken}'
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      // Flex Consumption takes the language and version from functionAppConfig.runtime: the settings
      // FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION must not be set here.
      appSettings: [
        // AzureWebJobsStorage as an identity-based connection, used by the host and by the Durable
        // extension for the task hub. The service URIs come from the account itself, so they are
        // right in every Azure cloud; credential and clientId select the user-assigned identity
        // (Durable Functions needs clientId, it does not accept a resource id).
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: storage.properties.primaryEndpoints.blob
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: storage.properties.primaryEndpoints.queue
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: storage.properties.primaryEndpoints.table
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identity.properties.clientId
        }
        // Telemetry authenticated with the same identity, since Application Insights has local
        // authentication off.
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
        }
        {
          name: 'RESERVATION_DEADLINE_SECONDS'
          value: string(reservationDeadlineSeconds)
        }
        {
          name: 'CITY_SELECTION_DEADLINE_SECONDS'
          value: string(citySelectionDeadlineSeconds)
        }
      ]
    }
  }
  // The host opens the task hub as soon as it starts: grant the roles first.
  dependsOn: [
    appStorageRoles
    appMonitoringRole
    deploymentContainer
  ]
}

resource appStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoleIds: {
    name: guid(storage.id, identity.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource appMonitoringRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The deploying person gets the same data roles, so that the task hub can be inspected without keys.
// No principalType: azd may run as a user or as a service principal, and Azure works it out.
resource userStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in (empty(principalId) ? [] : storageRoleIds): {
    name: guid(storage.id, principalId, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
    }
  }
]

@description('Name of the function app.')
output functionAppName string = functionApp.name

@description('Base URL of the function app.')
output functionAppUrl string = 'https://${functionApp.properties.defaultHostName}'

@description('Name of the storage account.')
output storageAccountName string = storage.name

@description('Client id of the user-assigned managed identity.')
output identityClientId string = identity.properties.clientId

@description('Name of the Application Insights resource.')
output applicationInsightsName string = appInsights.name
